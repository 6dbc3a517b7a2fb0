import { and, eq, inArray, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "./client";
import { deliveries, deliveryStatuses, enrollments, subscribers, suppressions, webhookEvents, type DeliveryStatus } from "./schema";
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
  const now = event.receivedAt;
  const record = db.insert(webhookEvents).values(event);

  let outcome: WebhookOutcome;
  let statements: BatchItem<"sqlite">[] = [];
  if (effect.kind === "ignore") {
    outcome = { status: "ignored", matchedDelivery: false };
  } else {
    const delivery = effect.emailId
      ? await db.query.deliveries.findFirst({ columns: { id: true, subscriberId: true }, where: eq(deliveries.providerMessageId, effect.emailId) })
      : undefined;
    if (effect.kind === "status") {
      statements = delivery ? [deliveryUpdate(db, delivery.id, effect.status, now, effect.note)] : [];
      outcome = { status: "processed", subscriberId: delivery?.subscriberId, matchedDelivery: delivery !== undefined };
    } else {
      // The delivery names the subscriber; an email we keep no delivery for (the confirmation)
      // is matched by its recipient instead.
      const subscriber: Subscriber | undefined =
        (delivery && (await findSubscriber(db, delivery.subscriberId))) || (effect.to ? await findSubscriberByEmail(db, effect.to) : undefined);
      const address = subscriber?.email ?? effect.to;
      statements = suppressionStatements(db, {
        now,
        reason: effect.reason,
        emailHash: address ? await emailHash(address) : undefined,
        subscriber,
        deliveryId: delivery?.id,
        note: effect.note,
      });
      outcome = { status: "processed", subscriberId: subscriber?.id, matchedDelivery: delivery !== undefined };
    }
  }

  try {
    await db.batch([record as BatchItem<"sqlite">, ...statements]);
  } catch (error) {
    if (await webhookEventSeen(db, event.id)) return { status: "duplicate" };
    throw error;
  }
  return outcome;
}

function deliveryUpdate(db: Db, deliveryId: string, status: DeliveryStatus, now: number, note?: string) {
  return db
    .update(deliveries)
    .set({ status, updatedAt: now, ...(note !== undefined && { lastError: note }) })
    .where(and(eq(deliveries.id, deliveryId), inArray(deliveries.status, statusesBefore(status))));
}

/**
 * Suppresses the address and ends the subscriber's course at once: unsubscribed, enrollment
 * stopped with nothing scheduled and any dispatcher lease dropped (so a pass in flight cannot
 * advance it back to active), and the confirmation nonce bumped so an old confirmation link
 * cannot quietly re-subscribe the address: it takes a new signup and a new confirmation.
 */
function suppressionStatements(
  db: Db,
  input: {
    now: number;
    reason: "bounced" | "complained";
    emailHash: string | undefined;
    subscriber: Subscriber | undefined;
    deliveryId: string | undefined;
    note?: string;
  },
): BatchItem<"sqlite">[] {
  const { now, reason, subscriber } = input;
  return [
    ...(input.emailHash
      ? [
          db
            .insert(suppressions)
            .values({ emailHash: input.emailHash, reason, createdAt: now })
            .onConflictDoUpdate({
              target: suppressions.emailHash,
              // A complaint is the strongest reason we know of; nothing later replaces it.
              set: { reason: sql`CASE WHEN ${suppressions.reason} = 'complained' THEN ${suppressions.reason} ELSE excluded.reason END` },
            }),
        ]
      : []),
    ...(subscriber
      ? [
          db
            .update(subscribers)
            .set({
              status: "unsubscribed",
              unsubscribedAt: sql`CASE WHEN ${subscribers.status} = 'unsubscribed' AND ${subscribers.unsubscribedAt} IS NOT NULL THEN ${subscribers.unsubscribedAt} ELSE ${now} END`,
              confirmationNonce: sql`${subscribers.confirmationNonce} + 1`,
            })
            .where(eq(subscribers.id, subscriber.id)),
          db
            .update(enrollments)
            .set({ state: "stopped", nextSendAt: null, pausedUntil: null, leaseId: null, leaseUntil: null, updatedAt: now })
            .where(and(eq(enrollments.subscriberId, subscriber.id), inArray(enrollments.state, ["active", "paused"]))),
        ]
      : []),
    ...(input.deliveryId ? [deliveryUpdate(db, input.deliveryId, reason, now, input.note)] : []),
  ];
}

/** Event ids are kept long enough to outlast the provider's retries (Svix retries for about a day). */
export async function pruneWebhookEvents(db: Db, now: number, olderThanMs = 7 * 24 * 60 * 60 * 1000): Promise<void> {
  await db.delete(webhookEvents).where(sql`${webhookEvents.receivedAt} <= ${now - olderThanMs}`);
}
