import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db } from "./client";
import type { ClaimedRow, Delivery, Lease } from "./drip-queries";
import { deliveries, enrollments, sendBatches, subscribers } from "./schema";

/**
 * Queries for batches as rows (`send_batches`). A batch's id is its idempotency key; its members
 * are the deliveries naming it (`deliveries.batch_id`) still `sending` or `retrying`. Times: `now`
 * is the dispatcher's clock (ms), `wallNow` real time (ms, leases and Resend's 24-hour key window).
 */

export type SendBatch = typeof sendBatches.$inferSelect;

/** A lease that never runs out by itself: an enrollment waiting on its batch's answer. */
export const HELD_BY_BATCH = Number.MAX_SAFE_INTEGER;

/** Deliveries waiting on batch `id`'s answer. */
export const waitingOn = (id: string) => and(eq(deliveries.batchId, id), inArray(deliveries.status, ["sending", "retrying"]));

/**
 * Leases one batch of `course` whose outcome is unknown and whose time has come: `retrying` and
 * due by `now`, or `sending` with a lease run out (its pass died mid-call). One statement, so
 * concurrent passes never take the same batch. Returns null when none is due.
 */
export async function claimUncertainBatch(db: Db, lease: Lease, now: number, course: string): Promise<SendBatch | null> {
  const [row] = await db
    .update(sendBatches)
    .set({ leaseId: lease.passId, leaseUntil: lease.until })
    .where(
      // `status IN` first: the index then reads only batches in flight or waiting, never the sent history.
      sql`${sendBatches.id} = (SELECT id FROM send_batches WHERE course = ${course} AND status IN ('retrying', 'sending')
        AND ((status = 'retrying' AND coalesce(next_attempt_at, 0) <= ${now} AND (lease_until IS NULL OR lease_until <= ${lease.wallNow}))
          OR (status = 'sending' AND lease_until <= ${lease.wallNow}))
        ORDER BY coalesce(next_attempt_at, 0), id LIMIT 1)`,
    )
    .returning();
  return row ?? null;
}

/** A member of a batch with what composing its email again needs. */
export interface BatchMember {
  row: ClaimedRow;
  delivery: Delivery;
}

/**
 * The members of batch `id` who are still to get their lesson: delivery waiting on the batch,
 * enrollment still active at that run and lesson, subscriber still active. Members who paused,
 * left, restarted or were deleted since are not returned (they keep the batch's answer).
 */
export async function stillActiveMembers(db: Db, id: string): Promise<BatchMember[]> {
  const rows = await db
    .select({ delivery: deliveries, enrollment: enrollments, subscriber: subscribers })
    .from(deliveries)
    .innerJoin(enrollments, and(eq(enrollments.subscriberId, deliveries.subscriberId), eq(enrollments.course, deliveries.course)))
    .innerJoin(subscribers, eq(subscribers.id, deliveries.subscriberId))
    .where(
      and(
        waitingOn(id),
        eq(enrollments.state, "active"),
        eq(subscribers.status, "active"),
        eq(enrollments.run, deliveries.run),
        eq(enrollments.nextLesson, deliveries.lessonNumber),
      ),
    );
  return rows.map((r) => ({
    delivery: r.delivery,
    row: {
      subscriberId: r.delivery.subscriberId,
      run: r.delivery.run,
      lessonNumber: r.delivery.lessonNumber,
      lastSentAt: r.enrollment.lastSentAt,
      email: r.subscriber.email,
      firstName: r.subscriber.firstName,
      timeZone: r.subscriber.timeZone,
      sendHour: r.subscriber.sendHour,
    },
  }));
}

/** Creates the row of a new batch (its id is the key), held by this pass; a no-op if it exists. */
export function insertBatch(db: Db, batch: { id: string; course: string; lesson: number | null }, lease: Lease, now: number) {
  return db
    .insert(sendBatches)
    .values({ ...batch, status: "pending", attempts: 0, leaseId: lease.passId, leaseUntil: lease.until, createdAt: now, updatedAt: now })
    .onConflictDoNothing();
}

/** The batch goes to the provider now: one more attempt, the key's window starts at the first. Only while this pass holds it. */
export function batchSending(db: Db, id: string, passId: string, wallNow: number, now: number) {
  return db
    .update(sendBatches)
    .set({ status: "sending", attempts: sql`${sendBatches.attempts} + 1`, firstAttemptAt: sql`coalesce(${sendBatches.firstAttemptAt}, ${wallNow})`, updatedAt: now })
    .where(and(eq(sendBatches.id, id), eq(sendBatches.leaseId, passId)));
}

/** A final or waiting state for the batch, its lease given up. */
export function settleBatch(db: Db, id: string, status: SendBatch["status"], now: number, nextAttemptAt: number | null = null) {
  return db.update(sendBatches).set({ status, nextAttemptAt, leaseId: null, leaseUntil: null, updatedAt: now }).where(eq(sendBatches.id, id));
}

/**
 * A refused batch's key is retired: its waiting members are no longer with the provider, so they
 * go into a new batch when they come back.
 */
export function freeMembers(db: Db, id: string, now: number) {
  return db.update(deliveries).set({ batchId: null, updatedAt: now }).where(waitingOn(id));
}

/**
 * Keeps the enrollments of a batch's waiting members out of the due set while the batch is
 * uncertain or held: leased to the batch itself, with no end (taken from `holders`, or from no one
 * or a lapsed lease). A control (pause, leave, restart) drops it; the batch's answer clears it.
 */
export function leaseToBatch(db: Db, id: string, course: string, holders: string[], wallNow: number) {
  // `+state`: found through the batch's deliveries by primary key, not by walking every active enrollment.
  return db.run(sql`UPDATE enrollments SET lease_id = ${id}, lease_until = ${HELD_BY_BATCH}
    WHERE course = ${course} AND +state IN ('active', 'paused')
      AND (lease_id IN (${sql.join(holders.map((h) => sql`${h}`), sql`, `)}) OR lease_id IS NULL OR lease_until <= ${wallNow})
      AND subscriber_id IN (SELECT subscriber_id FROM deliveries WHERE batch_id = ${id} AND course = ${course} AND status IN ('sending', 'retrying'))`);
}

/**
 * After an operator revives failed deliveries (status back to `retrying`): the batches they had
 * given up on wait again, due when the earliest revived member's enrollment is, and are resent from
 * their rows with their own keys (or held, if the key's window is nearly over). Run after the
 * deliveries' update, in the same transaction.
 */
export function reviveBatches(db: Db, now: number) {
  return db.run(sql`UPDATE send_batches SET status = 'retrying', lease_id = NULL, lease_until = NULL, updated_at = ${now},
      next_attempt_at = coalesce((SELECT min(e.next_send_at) FROM deliveries d JOIN enrollments e ON e.subscriber_id = d.subscriber_id AND e.course = d.course
        WHERE d.batch_id = send_batches.id AND d.status = 'retrying' AND e.state = 'active'), ${now})
    WHERE status = 'failed' AND id IN (SELECT batch_id FROM deliveries WHERE batch_id IS NOT NULL AND status = 'retrying')`);
}
