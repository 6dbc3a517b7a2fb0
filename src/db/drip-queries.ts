import { and, eq, inArray, isNotNull, lte, sql } from "drizzle-orm";
import type { Db } from "./client";
import { deliveries, enrollments } from "./schema";

/** A claimed enrollment with what the dispatcher needs to send its next lesson. */
export interface ClaimedRow {
  subscriberId: string;
  run: number;
  lessonNumber: number;
  lastSentAt: number | null;
  email: string;
  firstName: string | null;
  timeZone: string;
}

/** Timed pauses that have run out become active again; their next send time was set at pause time. */
export async function endExpiredPauses(db: Db, now: number): Promise<number> {
  const woken = await db
    .update(enrollments)
    .set({ state: "active", pausedUntil: null, updatedAt: now })
    .where(and(eq(enrollments.state, "paused"), isNotNull(enrollments.pausedUntil), lte(enrollments.pausedUntil, now)))
    .returning({ id: enrollments.subscriberId });
  return woken.length;
}

/**
 * Leases up to `limit` due enrollments to this pass in one statement. SQLite runs a statement
 * atomically under its write lock, so concurrent passes never lease the same row; a lease that
 * runs out (a pass that died) makes the row claimable again. The subscriber's state is checked
 * here, so a pause or unsubscribe that landed before the claim wins.
 */
export async function claimDue(db: Db, passId: string, now: number, leaseMs: number, limit: number): Promise<ClaimedRow[]> {
  const result = await db.run(sql`
    UPDATE enrollments SET lease_id = ${passId}, lease_until = ${now + leaseMs}
    WHERE subscriber_id IN (
      SELECT e.subscriber_id FROM enrollments e JOIN subscribers s ON s.id = e.subscriber_id
      WHERE e.state = 'active' AND e.next_send_at <= ${now}
        AND (e.lease_until IS NULL OR e.lease_until <= ${now}) AND s.status = 'active'
      ORDER BY e.next_send_at, e.subscriber_id
      LIMIT ${limit}
    )
    RETURNING subscriber_id, run, next_lesson, last_sent_at,
      (SELECT email FROM subscribers WHERE id = subscriber_id) AS email,
      (SELECT first_name FROM subscribers WHERE id = subscriber_id) AS first_name,
      (SELECT time_zone FROM subscribers WHERE id = subscriber_id) AS time_zone
  `);
  return result.rows.map((row) => ({
    subscriberId: String(row.subscriber_id),
    run: Number(row.run),
    lessonNumber: Number(row.next_lesson),
    lastSentAt: row.last_sent_at === null ? null : Number(row.last_sent_at),
    email: String(row.email),
    firstName: row.first_name === null ? null : String(row.first_name),
    timeZone: String(row.time_zone),
  }));
}

/** Of the subscribers this pass holds, those still active right now (checked just before sending). */
export async function stillActive(db: Db, passId: string, subscriberIds: string[]): Promise<Set<string>> {
  if (subscriberIds.length === 0) return new Set();
  const result = await db.run(sql`
    SELECT e.subscriber_id FROM enrollments e JOIN subscribers s ON s.id = e.subscriber_id
    WHERE e.lease_id = ${passId} AND e.state = 'active' AND s.status = 'active'
      AND e.subscriber_id IN (${sql.join(subscriberIds.map((id) => sql`${id}`), sql`, `)})
  `);
  return new Set(result.rows.map((row) => String(row.subscriber_id)));
}

export type Delivery = typeof deliveries.$inferSelect;

/**
 * Ensures a delivery row exists for each (subscriber, run, lesson) before anything is sent, and
 * returns the rows as they stand: new ones, or the ones a crashed or failed pass left behind.
 */
export async function upsertDeliveries(db: Db, rows: ClaimedRow[], newId: () => string, now: number): Promise<Delivery[]> {
  if (rows.length === 0) return [];
  return db
    .insert(deliveries)
    .values(rows.map((row) => ({ id: newId(), subscriberId: row.subscriberId, run: row.run, lessonNumber: row.lessonNumber, createdAt: now, updatedAt: now })))
    .onConflictDoUpdate({
      target: [deliveries.subscriberId, deliveries.run, deliveries.lessonNumber],
      // A no-op update, so RETURNING gives back existing rows too.
      set: { updatedAt: sql`${deliveries.updatedAt}` },
    })
    .returning();
}

/** Gives rows back without sending (budget spent, rate limited): they are due again at once. */
export async function releaseLeases(db: Db, passId: string, subscriberIds: string[]): Promise<void> {
  if (subscriberIds.length === 0) return;
  await db
    .update(enrollments)
    .set({ leaseId: null, leaseUntil: null })
    .where(and(eq(enrollments.leaseId, passId), inArray(enrollments.subscriberId, subscriberIds)));
}

/** Due enrollments, for `tick --dry-run`: nothing is claimed or changed. */
export async function listDue(db: Db, now: number, limit: number) {
  const result = await db.run(sql`
    SELECT e.subscriber_id, e.next_lesson, e.next_send_at, s.time_zone
    FROM enrollments e JOIN subscribers s ON s.id = e.subscriber_id
    WHERE e.state = 'active' AND e.next_send_at <= ${now} AND (e.lease_until IS NULL OR e.lease_until <= ${now}) AND s.status = 'active'
    ORDER BY e.next_send_at, e.subscriber_id LIMIT ${limit}
  `);
  return result.rows.map((row) => ({
    subscriberId: String(row.subscriber_id),
    lessonNumber: Number(row.next_lesson),
    dueAt: Number(row.next_send_at),
    timeZone: String(row.time_zone),
  }));
}

export interface SentDelivery {
  deliveryId: string;
  providerMessageId: string | null;
}

/** Marks a whole batch sent in one statement. */
export function markSent(db: Db, sent: SentDelivery[], now: number) {
  const values = sql.join(
    sent.map((d) => sql`(${d.deliveryId}, ${d.providerMessageId})`),
    sql`, `,
  );
  return db.run(sql`
    UPDATE deliveries SET status = 'sent', sent_at = ${now}, updated_at = ${now}, last_error = NULL,
      attempts = attempts + 1, provider_message_id = coalesce(v.column2, provider_message_id)
    FROM (VALUES ${values}) AS v
    WHERE deliveries.id = v.column1
  `);
}

export interface Advance {
  subscriberId: string;
  /** The lesson just sent. */
  lessonNumber: number;
  /** When the next lesson is due, or null when the course is complete. */
  nextSendAt: number | null;
}

/**
 * Moves each subscriber past the lesson just sent, in one statement. Only rows this pass still
 * leases, and only if they are still at that lesson, so nothing advances twice.
 */
export function advanceEnrollments(db: Db, passId: string, advances: Advance[], sentAt: number) {
  const values = sql.join(
    advances.map((a) => sql`(${a.subscriberId}, ${a.lessonNumber}, ${a.nextSendAt})`),
    sql`, `,
  );
  return db.run(sql`
    UPDATE enrollments SET
      last_sent_at = ${sentAt},
      next_lesson = v.column2 + 1,
      next_send_at = v.column3,
      state = CASE WHEN v.column3 IS NULL THEN 'completed' ELSE 'active' END,
      completed_at = CASE WHEN v.column3 IS NULL THEN ${sentAt} ELSE NULL END,
      lease_id = NULL, lease_until = NULL, updated_at = ${sentAt}
    FROM (VALUES ${values}) AS v
    WHERE enrollments.subscriber_id = v.column1 AND enrollments.lease_id = ${passId} AND enrollments.next_lesson = v.column2
  `);
}
