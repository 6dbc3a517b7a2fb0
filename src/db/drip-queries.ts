import { and, eq, inArray, isNotNull, lte, sql, type SQL } from "drizzle-orm";
import { MIN_GAP_MS } from "../drip/schedule";
import { wakeEventsInsert } from "../events/record";
import { waitingOn } from "./batch-queries";
import type { Db } from "./client";
import { DEFAULT_COURSE_SLUG, deliveries, enrollments } from "./schema";

/**
 * The dispatcher's queries. Two clocks meet here: `now` is the dispatcher's clock (what is due,
 * which `tick --now` can move), `wallNow` is real time (leases, which other processes must be able
 * to trust whatever instant the pass simulates).
 */

/** A claimed enrollment with what the dispatcher needs to send its next lesson. */
export interface ClaimedRow {
  subscriberId: string;
  run: number;
  lessonNumber: number;
  lastSentAt: number | null;
  email: string;
  firstName: string | null;
  timeZone: string;
  /** The subscriber's chosen local send hour; null = the configured SEND_HOUR. */
  sendHour: number | null;
}

export interface Lease {
  passId: string;
  wallNow: number;
  until: number;
}

/**
 * Timed pauses that have run out become active again; their next send time was set at pause time.
 * The lifecycle's "wake" step (src/lifecycle/machine.ts), for every such row in one statement.
 */
export async function endExpiredPauses(db: Db, now: number): Promise<number> {
  // Events hook (issue 14): `enrollment.resumed` for the same rows, in the same transaction.
  const [, woken] = await db.batch([
    wakeEventsInsert(db, now),
    db
      .update(enrollments)
      .set({ state: "active", pausedUntil: null, updatedAt: now })
      .where(and(eq(enrollments.state, "paused"), isNotNull(enrollments.pausedUntil), lte(enrollments.pausedUntil, now)))
      .returning({ id: enrollments.subscriberId }),
  ]);
  return woken.length;
}

/**
 * Due and free: active, due by `now`, not leased, the subscriber active, and — a safety net under
 * the schedule — never within MIN_GAP_MS of the previous lesson.
 */
function dueAndFree(now: number, wallNow: number, course: string): SQL {
  return sql`e.course = ${course} AND e.state = 'active' AND e.next_send_at <= ${now}
    AND (e.lease_until IS NULL OR e.lease_until <= ${wallNow}) AND s.status = 'active'
    AND (e.last_sent_at IS NULL OR e.last_sent_at <= ${now - MIN_GAP_MS})`;
}

const CLAIMED_COLUMNS = sql`subscriber_id, run, next_lesson, last_sent_at,
  (SELECT email FROM subscribers WHERE id = subscriber_id) AS email,
  (SELECT first_name FROM subscribers WHERE id = subscriber_id) AS first_name,
  (SELECT time_zone FROM subscribers WHERE id = subscriber_id) AS time_zone,
  (SELECT send_hour FROM subscribers WHERE id = subscriber_id) AS send_hour`;

function toClaimed(row: Record<string, unknown>): ClaimedRow {
  return {
    subscriberId: String(row.subscriber_id),
    run: Number(row.run),
    lessonNumber: Number(row.next_lesson),
    lastSentAt: row.last_sent_at === null ? null : Number(row.last_sent_at),
    email: String(row.email),
    firstName: row.first_name === null ? null : String(row.first_name),
    timeZone: String(row.time_zone),
    sendHour: row.send_hour === null || row.send_hour === undefined ? null : Number(row.send_hour),
  };
}

/**
 * Leases up to `limit` due enrollments to this pass in one statement. SQLite runs a statement
 * atomically under its write lock, so concurrent passes never lease the same row; a lease that
 * runs out (a pass that died) makes the row claimable again. The subscriber's state is checked
 * here, so a pause or unsubscribe that landed before the claim wins.
 */
export async function claimDue(db: Db, lease: Lease, now: number, limit: number, course: string = DEFAULT_COURSE_SLUG): Promise<ClaimedRow[]> {
  const result = await db.run(sql`
    UPDATE enrollments SET lease_id = ${lease.passId}, lease_until = ${lease.until}
    WHERE course = ${course} AND subscriber_id IN (
      SELECT e.subscriber_id FROM enrollments e JOIN subscribers s ON s.id = e.subscriber_id
      WHERE ${dueAndFree(now, lease.wallNow, course)}
      ORDER BY e.next_send_at, e.subscriber_id
      LIMIT ${limit}
    )
    RETURNING ${CLAIMED_COLUMNS}
  `);
  return result.rows.map(toClaimed);
}

export type Delivery = typeof deliveries.$inferSelect;

function toDelivery(row: Record<string, unknown>): Delivery {
  const num = (value: unknown) => (value === null ? null : Number(value));
  const str = (value: unknown) => (value === null ? null : String(value));
  return {
    id: String(row.id),
    subscriberId: String(row.subscriber_id),
    course: String(row.course),
    run: Number(row.run),
    lessonNumber: Number(row.lesson_number),
    status: String(row.status) as Delivery["status"],
    attempts: Number(row.attempts),
    batchKey: str(row.batch_key),
    batchId: str(row.batch_id ?? null),
    providerMessageId: str(row.provider_message_id),
    lastError: str(row.last_error),
    createdAt: Number(row.created_at),
    sentAt: num(row.sent_at),
    updatedAt: Number(row.updated_at),
    deliveredAt: num(row.delivered_at ?? null),
    openedAt: num(row.opened_at ?? null),
    clickedAt: num(row.clicked_at ?? null),
    bouncedAt: num(row.bounced_at ?? null),
    complainedAt: num(row.complained_at ?? null),
  };
}

/**
 * Ensures a delivery row exists for each (subscriber, run, lesson) before anything is sent, and
 * returns the rows as they stand: new ones, or the ones a crashed or failed pass left behind.
 * A subscriber deleted since the claim simply gets no row.
 */
export async function upsertDeliveries(db: Db, rows: ClaimedRow[], newId: () => string, now: number, course: string = DEFAULT_COURSE_SLUG): Promise<Delivery[]> {
  if (rows.length === 0) return [];
  const values = sql.join(
    rows.map((row) => sql`(${newId()}, ${row.subscriberId}, ${row.run}, ${row.lessonNumber})`),
    sql`, `,
  );
  const result = await db.run(sql`
    INSERT INTO deliveries (id, subscriber_id, course, run, lesson_number, status, attempts, created_at, updated_at)
    SELECT v.column1, v.column2, ${course}, v.column3, v.column4, 'sending', 0, ${now}, ${now}
    FROM (VALUES ${values}) AS v
    WHERE EXISTS (SELECT 1 FROM subscribers WHERE id = v.column2)
    -- A no-op update, so RETURNING gives back existing rows too.
    ON CONFLICT (subscriber_id, course, run, lesson_number) DO UPDATE SET updated_at = deliveries.updated_at
    RETURNING *
  `);
  return result.rows.map((row) => toDelivery(row as Record<string, unknown>));
}

/** Gives rows back without sending (budget spent, rate limited): they are due again at once. */
export async function releaseLeases(db: Db, passId: string, subscriberIds: string[], course: string = DEFAULT_COURSE_SLUG): Promise<void> {
  if (subscriberIds.length === 0) return;
  await releaseLeasesStatement(db, passId, subscriberIds, course);
}

/** `releaseLeases` as one statement, for a batch of writes. */
export function releaseLeasesStatement(db: Db, passId: string, subscriberIds: string[], course: string) {
  return db
    .update(enrollments)
    .set({ leaseId: null, leaseUntil: null })
    .where(and(eq(enrollments.leaseId, passId), eq(enrollments.course, course), inArray(enrollments.subscriberId, subscriberIds)));
}

/** Due enrollments of `course`, for `tick --dry-run`: nothing is claimed or changed. */
export async function listDue(db: Db, now: number, wallNow: number, limit: number, course: string = DEFAULT_COURSE_SLUG) {
  const result = await db.run(sql`
    SELECT e.subscriber_id, e.next_lesson, e.next_send_at, s.time_zone
    FROM enrollments e JOIN subscribers s ON s.id = e.subscriber_id
    WHERE ${dueAndFree(now, wallNow, course)}
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
  run: number;
  /** The lesson just sent. */
  lessonNumber: number;
  /** The enrollment fields after it, from the lifecycle's `afterLessonSent`. */
  next: { nextLesson: number; lastSentAt: number; nextSendAt: number | null; state: "active" | "completed"; completedAt: number | null };
}

/**
 * Moves each subscriber past the lesson just sent, in one statement. Only rows this pass still
 * leases, still active, and still at that run and lesson, so nothing advances twice and a control
 * that landed meanwhile (it drops the lease) is not overwritten. `passId` null: whoever holds the
 * row (a resumed batch, whose members are not leased to the pass; run and lesson still must match).
 * Returns the subscribers advanced.
 */
export function advanceEnrollments(db: Db, passId: string | null, advances: Advance[], now: number, course: string = DEFAULT_COURSE_SLUG) {
  const values = sql.join(
    advances.map((a) => sql`(${a.subscriberId}, ${a.run}, ${a.lessonNumber}, ${a.next.nextLesson}, ${a.next.lastSentAt}, ${a.next.nextSendAt}, ${a.next.state}, ${a.next.completedAt})`),
    sql`, `,
  );
  // `+course`, `+state`: without them SQLite walks every (active) enrollment of the course (the due index) for
  // each value row; with it each row is found by primary key (bench:scale).
  return db.run(sql`
    UPDATE enrollments SET
      next_lesson = v.column4, last_sent_at = v.column5, next_send_at = v.column6, state = v.column7, completed_at = v.column8,
      lease_id = NULL, lease_until = NULL, updated_at = ${now}
    FROM (VALUES ${values}) AS v
    WHERE enrollments.subscriber_id = v.column1 AND +enrollments.course = ${course} AND (${passId} IS NULL OR enrollments.lease_id = ${passId}) AND +enrollments.state = 'active'
      AND enrollments.run = v.column2 AND enrollments.next_lesson = v.column3
    RETURNING enrollments.subscriber_id
  `);
}

/**
 * Claimed rows that name no lesson of the course (past its end, as rows written by earlier
 * releases could): the lifecycle's "unsendable" step, finishing them, so they leave the due set in
 * this pass instead of being claimed and released again and again.
 */
export function finishUnsendable(db: Db, passId: string, subscriberIds: string[], lessonCount: number, now: number, course: string = DEFAULT_COURSE_SLUG) {
  return db.run(sql`
    UPDATE enrollments SET state = 'completed', next_send_at = NULL, paused_until = NULL,
      completed_at = coalesce(completed_at, last_sent_at, ${now}), lease_id = NULL, lease_until = NULL, updated_at = ${now}
    WHERE lease_id = ${passId} AND course = ${course} AND next_lesson > ${lessonCount}
      AND subscriber_id IN (${sql.join(subscriberIds.map((id) => sql`${id}`), sql`, `)})
  `);
}

/**
 * Settles the rows still waiting on batch `id` once the provider has answered for it: marked sent
 * when the first attempt is known to have gone out (`everyone`), otherwise freed of the batch.
 */
export function settleKey(db: Db, id: string, everyone: boolean, now: number) {
  const waiting = waitingOn(id);
  return everyone
    ? db.update(deliveries).set({ status: "sent", sentAt: now, updatedAt: now }).where(waiting)
    : db.update(deliveries).set({ batchId: null, updatedAt: now }).where(waiting);
}

/**
 * Marks the deliveries about to go out in batch `batchId`, but only those whose subscriber is still
 * active at that lesson, and only while this pass holds the batch: the last check before sending,
 * in the same statement. `holder`: the pass that must still lease the enrollments (a new batch), or
 * null for a resumed batch, whose members are no pass's. Returns the ids it marked (`rows[].id`).
 */
export function markSending(db: Db, holder: string | null, passId: string, batchId: string, deliveryIds: string[], now: number) {
  const ids = deliveryIds.length > 0 ? sql.join(deliveryIds.map((id) => sql`${id}`), sql`, `) : sql`NULL`;
  // The enrollment must still be at this delivery's run and lesson, and 20 hours clear of any
  // lesson recorded since the claim (one of an older run that was with the provider at a restart).
  return db.run(sql`
    UPDATE deliveries SET batch_id = ${batchId}, status = 'sending', updated_at = ${now}
    WHERE id IN (${ids})
      AND EXISTS (SELECT 1 FROM send_batches b WHERE b.id = ${batchId} AND b.lease_id = ${passId})
      AND EXISTS (
        SELECT 1 FROM enrollments e JOIN subscribers s ON s.id = e.subscriber_id
        WHERE e.subscriber_id = deliveries.subscriber_id AND e.course = deliveries.course
          AND (${holder} IS NULL OR e.lease_id = ${holder})
          AND e.state = 'active' AND s.status = 'active'
          AND e.run = deliveries.run AND e.next_lesson = deliveries.lesson_number
          AND (e.last_sent_at IS NULL OR e.last_sent_at <= ${now - MIN_GAP_MS})
      )
    RETURNING id
  `);
}
