import { and, eq, inArray, ne, sql } from "drizzle-orm";
import { resumeDueAt } from "../drip/schedule";
import { keyedHash } from "../lib/hash";
import type { Db } from "./client";
import { deliveries, enrollments, subscribers, suppressions, type EnrollmentState } from "./schema";
import { findEnrollment, findSubscriber, restartedEnrollment, type Enrollment, type Subscriber } from "./subscribers";

/**
 * What a subscriber can do from the manage and unsubscribe pages, as state transitions on the
 * database. No HTTP here: the routes verify the token, call one of these and map the outcome to a
 * page. Every write is conditional on the state it expects, so two tabs (or a tab and the
 * dispatcher) racing each other cannot produce a state neither asked for.
 *
 * Each transition also drops any dispatcher lease. A pass that is sending this subscriber's lesson
 * right now then cannot "advance" the row afterwards (its update requires the lease), so a pause or
 * unsubscribe is never overwritten; if the email did go out, the delivery row says so and the next
 * pass moves on without sending it again.
 */

export const PAUSE_WEEK_MS = 7 * 24 * 60 * 60 * 1000;

export interface Subscription {
  subscriber: Subscriber;
  enrollment: Enrollment | undefined;
}

export async function findSubscription(db: Db, subscriberId: string): Promise<Subscription | undefined> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber) return undefined;
  return { subscriber, enrollment: await findEnrollment(db, subscriberId) };
}

/**
 * Why an action was refused: the subscriber is gone, has unsubscribed, has signed up again but not
 * yet confirmed, or the course is in a state where the action means nothing.
 */
export type Refusal = "not_found" | "not_subscribed" | "not_confirmed" | "completed";

export type ControlResult = { ok: true } | { ok: false; reason: Refusal };

const ok: ControlResult = { ok: true };
const refuse = (reason: Refusal): ControlResult => ({ ok: false, reason });

const NO_LEASE = { leaseId: null, leaseUntil: null } as const;

/** States a pause or resume applies to: a finished, failed or stopped course has nothing to pause. */
const PAUSABLE: EnrollmentState[] = ["active", "paused"];
const RESUMABLE: EnrollmentState[] = ["active", "paused", "failed"];

interface ScheduleSettings {
  now: number;
  sendHour: number;
}

/** The subscription, when its owner is an active subscriber with an enrollment. */
async function activeSubscription(db: Db, subscriberId: string): Promise<{ subscriber: Subscriber; enrollment: Enrollment } | Refusal> {
  const found = await findSubscription(db, subscriberId);
  if (!found) return "not_found";
  if (found.subscriber.status === "unsubscribed") return "not_subscribed";
  if (found.subscriber.status === "pending" || !found.enrollment) return "not_confirmed";
  return { subscriber: found.subscriber, enrollment: found.enrollment };
}

/**
 * Nothing is sent for seven days; the dispatcher's `endExpiredPauses` makes the row active again
 * when `pausedUntil` passes, and the next lesson is already scheduled for the first local send hour
 * after that (and not within a day of the previous lesson).
 */
export async function pauseForWeek(db: Db, subscriberId: string, { now, sendHour }: ScheduleSettings): Promise<ControlResult> {
  const found = await activeSubscription(db, subscriberId);
  if (typeof found === "string") return refuse(found);
  const { subscriber, enrollment } = found;
  if (!PAUSABLE.includes(enrollment.state)) return refuse("completed");
  const pausedUntil = now + PAUSE_WEEK_MS;
  const updated = await db
    .update(enrollments)
    .set({
      state: "paused",
      pausedUntil,
      nextSendAt: resumeDueAt(pausedUntil, enrollment.lastSentAt, subscriber.timeZone, sendHour),
      ...NO_LEASE,
      updatedAt: now,
    })
    .where(and(eq(enrollments.subscriberId, subscriberId), inArray(enrollments.state, PAUSABLE)))
    .returning({ id: enrollments.subscriberId });
  return updated.length > 0 ? ok : refuse("completed");
}

/** Nothing is scheduled until the subscriber resumes. */
export async function pauseUntilResumed(db: Db, subscriberId: string, now: number): Promise<ControlResult> {
  const found = await activeSubscription(db, subscriberId);
  if (typeof found === "string") return refuse(found);
  if (!PAUSABLE.includes(found.enrollment.state)) return refuse("completed");
  const updated = await db
    .update(enrollments)
    .set({ state: "paused", pausedUntil: null, nextSendAt: null, ...NO_LEASE, updatedAt: now })
    .where(and(eq(enrollments.subscriberId, subscriberId), inArray(enrollments.state, PAUSABLE)))
    .returning({ id: enrollments.subscriberId });
  return updated.length > 0 ? ok : refuse("completed");
}

/**
 * Lessons start again at the next local send hour, never within a day of the last one, so coming
 * back does not trigger a burst of catch-up lessons. Resuming an active course changes nothing;
 * resuming a failed one (the provider gave up on an address) tries again.
 */
export async function resume(db: Db, subscriberId: string, { now, sendHour }: ScheduleSettings): Promise<ControlResult> {
  const found = await activeSubscription(db, subscriberId);
  if (typeof found === "string") return refuse(found);
  const { subscriber, enrollment } = found;
  if (enrollment.state === "active") return ok;
  if (!RESUMABLE.includes(enrollment.state)) return refuse("completed");
  const updated = await db
    .update(enrollments)
    .set({
      state: "active",
      pausedUntil: null,
      nextSendAt: enrollment.lastSentAt === null ? now : resumeDueAt(now, enrollment.lastSentAt, subscriber.timeZone, sendHour),
      ...NO_LEASE,
      updatedAt: now,
    })
    .where(and(eq(enrollments.subscriberId, subscriberId), eq(enrollments.state, enrollment.state)))
    .returning({ id: enrollments.subscriberId });
  return updated.length > 0 ? ok : refuse("completed");
}

/**
 * A new run of the course from lesson 1; from any state, as long as the person is subscribed. Lesson
 * 1 is due now, or 20 hours after the last lesson if that is later (see `restartedEnrollment`).
 */
export async function restart(db: Db, subscriberId: string, now: number): Promise<ControlResult> {
  const found = await activeSubscription(db, subscriberId);
  if (typeof found === "string") return refuse(found);
  const run = found.enrollment.run;
  await db.batch([
    db
      .update(enrollments)
      .set({ ...restartedEnrollment(found.enrollment, now), ...NO_LEASE })
      // The run guards against a double submit starting two runs.
      .where(and(eq(enrollments.subscriberId, subscriberId), eq(enrollments.run, run))),
    // A lesson of the old run still waiting for a retry will never be sent now.
    db
      .update(deliveries)
      .set({ status: "cancelled", updatedAt: now })
      .where(and(eq(deliveries.subscriberId, subscriberId), eq(deliveries.run, run), inArray(deliveries.status, ["sending", "retrying"]))),
  ]);
  return ok;
}

export type UnsubscribeOutcome = "unsubscribed" | "already_unsubscribed" | "not_found";

/**
 * Stops all mail at once: the subscriber is marked unsubscribed, the enrollment stopped, and the
 * address hash goes on the suppression list. Repeating it changes nothing (RFC 8058 clients may
 * POST more than once). The dispatcher re-checks the subscriber's status just before sending, so a
 * lesson a running pass has already claimed is not sent either.
 */
export async function unsubscribe(db: Db, subscriberId: string, now: number, appSecret: string): Promise<UnsubscribeOutcome> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber) return "not_found";
  const emailHash = await keyedHash(appSecret, subscriber.email);
  const [changed] = await db.batch([
    db
      .update(subscribers)
      // A new nonce, as for a bounce or complaint (db/webhooks.ts): confirmation links sent
      // before now stop working, so following an old one cannot quietly re-subscribe the address.
      .set({ status: "unsubscribed", unsubscribedAt: now, confirmationNonce: sql`${subscribers.confirmationNonce} + 1` })
      .where(and(eq(subscribers.id, subscriberId), ne(subscribers.status, "unsubscribed")))
      .returning({ id: subscribers.id }),
    db
      .update(enrollments)
      .set({ state: "stopped", nextSendAt: null, pausedUntil: null, ...NO_LEASE, updatedAt: now })
      .where(eq(enrollments.subscriberId, subscriberId)),
    db.insert(suppressions).values({ emailHash, reason: "unsubscribed", createdAt: now }).onConflictDoNothing(),
  ]);
  return changed.length > 0 ? "unsubscribed" : "already_unsubscribed";
}

/**
 * Erases the person: their deliveries, enrollment and subscriber row go, and only a keyed one-way
 * hash of the address stays on the suppression list, so they are never mailed again unless they
 * sign up anew (confirming lifts the suppression). Children are deleted explicitly rather than
 * through ON DELETE CASCADE, which depends on `PRAGMA foreign_keys` on each connection. All their
 * signed links stop working, because every route looks the subscriber up.
 */
export async function deleteSubscriber(db: Db, subscriberId: string, now: number, appSecret: string): Promise<boolean> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber) return false;
  const emailHash = await keyedHash(appSecret, subscriber.email);
  await db.batch([
    db.delete(deliveries).where(eq(deliveries.subscriberId, subscriberId)),
    db.delete(enrollments).where(eq(enrollments.subscriberId, subscriberId)),
    db.delete(subscribers).where(eq(subscribers.id, subscriberId)),
    // "deleted" replaces an earlier "unsubscribed" (the stronger request); a bounce or complaint
    // recorded by the provider is kept, as it says more about the address.
    db
      .insert(suppressions)
      .values({ emailHash, reason: "deleted", createdAt: now })
      .onConflictDoUpdate({
        target: suppressions.emailHash,
        set: { reason: "deleted", createdAt: now },
        setWhere: eq(suppressions.reason, "unsubscribed"),
      }),
  ]);
  return true;
}
