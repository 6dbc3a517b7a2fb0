import { and, eq, inArray, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { lessonEventsInsert } from "../events/record";
import { step, suppressStatement } from "../lifecycle/store";
import type { Db } from "./client";
import { deliveries, deliveryStatuses, webhookEvents, type DeliveryStatus } from "./schema";
import { findSubscriber, findSubscriberByEmail, type Subscriber } from "./subscribers";

/**
 * What a provider event does to our data. Statuses only move forward: webhooks arrive at least
 * once and in any order, so a late "delivered" must not undo an "opened".
 */
const PROGRESS: Record<DeliveryStatus, number> = {
  sending: 0,
  retrying: 0,
  failed: 0,
  cancelled: 0,
  sent: 1,
  delivery_delayed: 2,
  delivered: 3,
  opened: 4,
  clicked: 5,
  bounced: 6,
  complained: 7,
};

/** The statuses a delivery may move from to reach `status`. */
export function statusesBefore(status: DeliveryStatus): DeliveryStatus[] {
  return deliveryStatuses.filter((s) => PROGRESS[s] < PROGRESS[status]);
}

export type WebhookEffect =
  | { kind: "ignore" }
  /** Engagement and delivery news: the delivery's status only. */
  | { kind: "status"; emailId: string | undefined; status: DeliveryStatus; note?: string }
  /** A hard bounce or a complaint: never mail the address again without a fresh confirmation. */
  | { kind: "suppress"; emailId: string | undefined; to: string | undefined; reason: "bounced" | "complained"; note?: string };

export interface WebhookEventRecord {
  id: string;
  type: string;
  receivedAt: number;
}

export type WebhookOutcome = { status: "duplicate" } | { status: "processed" | "ignored"; subscriberId?: string; matchedDelivery: boolean };

export async function webhookEventSeen(db: Db, id: string): Promise<boolean> {
  const row = await db.query.webhookEvents.findFirst({ columns: { id: true }, where: eq(webhookEvents.id, id) });
  return row !== undefined;
}

/**
 * Applies an event once. The event id is inserted in the same batch (one transaction) as the
 * changes it causes, with no conflict clause: if another delivery of the same event got there
 * first, the insert fails and nothing of this one is applied.
 */
export async function applyWebhookEvent(
  db: Db,
  event: WebhookEventRecord,
  effect: WebhookEffect,
  emailHash: (email: string) => Promise<string>,
): Promise<WebhookOutcome> {
  if (await webhookEventSeen(db, event.id)) return { status: "duplicate" };
  try {
    return await applyOnce(db, event, effect, emailHash);
  } catch (error) {
    if (await webhookEventSeen(db, event.id)) return { status: "duplicate" };
    throw error;
  }
}

/** The event row, inserted only while `guard` holds; a second delivery of the event fails on its id. */
function recordEvent(db: Db, event: WebhookEventRecord, guard: SQL = sql`1`): BatchItem<"sqlite"> {
  return db.run(sql`insert into webhook_events (id, type, received_at) select ${event.id}, ${event.type}, ${event.receivedAt} where ${guard}`);
}

async function applyOnce(db: Db, event: WebhookEventRecord, effect: WebhookEffect, emailHash: (email: string) => Promise<string>): Promise<WebhookOutcome> {
  const now = event.receivedAt;
  if (effect.kind === "ignore") {
    await db.batch([recordEvent(db, event)]);
    return { status: "ignored", matchedDelivery: false };
  }
  const delivery = effect.emailId
    ? await db.query.deliveries.findFirst({ columns: { id: true, subscriberId: true }, where: eq(deliveries.providerMessageId, effect.emailId) })
    : undefined;
  if (effect.kind === "status") {
    // Events hook (issue 14): `lesson.delivered|opened|clicked`, before the update and on its condition.
    const lessonEvent = delivery ? lessonEventFor(db, delivery.id, effect.status, now) : [];
    await db.batch([recordEvent(db, event), ...lessonEvent, ...(delivery ? [deliveryUpdate(db, delivery.id, effect.status, now, effect.note)] : [])]);
    return { status: "processed", subscriberId: delivery?.subscriberId, matchedDelivery: delivery !== undefined };
  }

  // A hard bounce or a complaint. The delivery names the subscriber; an email we keep no delivery
  // for (the confirmation) is matched by its recipient instead.
  const subscriber: Subscriber | undefined =
    (delivery && (await findSubscriber(db, delivery.subscriberId))) || (effect.to ? await findSubscriberByEmail(db, effect.to) : undefined);
  const deliveryStatement = delivery ? [deliveryUpdate(db, delivery.id, effect.reason, now, effect.note)] : [];
  const outcome: WebhookOutcome = { status: "processed", subscriberId: subscriber?.id, matchedDelivery: delivery !== undefined };
  if (!subscriber) {
    // Nobody we know (deleted since, or never signed up): only the address is suppressed.
    const hash = effect.to ? await emailHash(effect.to) : undefined;
    await db.batch([recordEvent(db, event), ...(hash ? [suppressStatement(db, hash, effect.reason, now)] : []), ...deliveryStatement]);
    return outcome;
  }
  // The lifecycle step: suppressed, stopped, old confirmation links dead; the event recorded in
  // the same transaction, only if the step applies.
  const result = await step(
    db,
    subscriber.id,
    { kind: effect.reason === "bounced" ? "bounce" : "complaint" },
    { now, sendHour: 0, emailHash },
    { extra: (guard) => [recordEvent(db, event, guard), ...deliveryStatement] },
  );
  return result.ok ? outcome : { status: "ignored", matchedDelivery: delivery !== undefined };
}

const LESSON_EVENTS = { delivered: "lesson.delivered", opened: "lesson.opened", clicked: "lesson.clicked" } as const;

function lessonEventFor(db: Db, deliveryId: string, status: DeliveryStatus, now: number): BatchItem<"sqlite">[] {
  const type = LESSON_EVENTS[status as keyof typeof LESSON_EVENTS];
  if (!type) return [];
  return [lessonEventsInsert(db, type, sql`d.id = ${deliveryId} and d.status in ${statusesBefore(status)}`, now)];
}

function deliveryUpdate(db: Db, deliveryId: string, status: DeliveryStatus, now: number, note?: string) {
  return db
    .update(deliveries)
    .set({ status, updatedAt: now, ...(note !== undefined && { lastError: note }) })
    .where(and(eq(deliveries.id, deliveryId), inArray(deliveries.status, statusesBefore(status))));
}

/** Event ids are kept long enough to outlast the provider's retries (Svix retries for about a day). */
export async function pruneWebhookEvents(db: Db, now: number, olderThanMs = 7 * 24 * 60 * 60 * 1000): Promise<void> {
  await db.delete(webhookEvents).where(sql`${webhookEvents.receivedAt} <= ${now - olderThanMs}`);
}
