import { and, count, desc, eq, gte, inArray, lt, sql } from "drizzle-orm";
import { allCourses, courseBySlug } from "../course/registry";
import { lessonComments } from "../db/feedback";
import { lessonFunnel as funnelOf, type FunnelRow } from "../db/reports";
import type { Db } from "../db/client";
import { adminActions, deliveries, enrollments, importJobs, importRows, sendBatches, subscribers } from "../db/schema";
import { AppError } from "../lib/errors";

/**
 * Every database read of the console, in one place. Each takes the course it reports on by slug:
 * enrollments and deliveries are counted for that course only. Signups and confirmations are of
 * the address (consent is per person), so they are the same on every course's dashboard.
 */

import { DEFAULT_COURSE_SLUG } from "../course/registry";
export { DEFAULT_COURSE_SLUG };

export interface ConsoleCourse {
  slug: string;
  title: string;
  lessons: { number: number; slug: string; subject: string }[];
}

const asConsoleCourse = (course: { slug: string; title: string; lessons: readonly { number: number; slug: string; subject: string }[] }): ConsoleCourse => ({
  slug: course.slug,
  title: course.title,
  lessons: course.lessons.map(({ number, slug, subject }) => ({ number, slug, subject })),
});

/** The courses the console knows: every registered course, default first. */
export function consoleCourses(): ConsoleCourse[] {
  return allCourses().map(asConsoleCourse);
}

/** The course for a slug, or a 404 naming it. */
export function courseFor(slug: string): ConsoleCourse {
  const course = courseBySlug(slug);
  if (!course) throw new AppError(404, "not_found", "There is no course with that name.");
  return asConsoleCourse(course);
}

const DAY_MS = 24 * 60 * 60 * 1000;

export interface DailyCounts {
  /** UTC midnight of each day, oldest first (ms). */
  days: number[];
  signups: number[];
  confirmations: number[];
}

/** Signups and confirmations per UTC day for the `days` days ending today (indexed on created_at / confirmed_at). */
export async function dailyCounts(db: Db, courseSlug: string, now: number, days = 30): Promise<DailyCounts> {
  courseFor(courseSlug);
  const start = Math.floor(now / DAY_MS) * DAY_MS - (days - 1) * DAY_MS;
  const perDay = async (column: typeof subscribers.createdAt | typeof subscribers.confirmedAt) => {
    const rows = await db
      .select({ day: sql<number>`cast((${column} - ${start}) / ${DAY_MS} as integer)`, n: count() })
      .from(subscribers)
      .where(gte(column, start))
      .groupBy(sql`1`);
    const out = new Array<number>(days).fill(0);
    for (const row of rows) if (row.day >= 0 && row.day < days) out[Number(row.day)] = row.n;
    return out;
  };
  const [signups, confirmations] = await Promise.all([perDay(subscribers.createdAt), perDay(subscribers.confirmedAt)]);
  return { days: Array.from({ length: days }, (_, i) => start + i * DAY_MS), signups, confirmations };
}

/** Of the people who signed up since `since` (ms), how many have confirmed. */
export async function confirmationRate(db: Db, courseSlug: string, since: number): Promise<{ signedUp: number; confirmed: number }> {
  courseFor(courseSlug);
  const [row] = await db
    .select({ signedUp: count(), confirmed: count(subscribers.confirmedAt) })
    .from(subscribers)
    .where(gte(subscribers.createdAt, since));
  return { signedUp: row?.signedUp ?? 0, confirmed: row?.confirmed ?? 0 };
}

/** The per-lesson funnel of a course (src/db/reports.ts, shared with the API). */
export async function lessonFunnel(db: Db, courseSlug: string): Promise<FunnelRow[]> {
  return funnelOf(db, courseFor(courseSlug));
}

export interface StateCounts {
  pending: number;
  active: number;
  paused: number;
  completed: number;
  left: number;
  failed: number;
  /** Subscribers stopped by the provider's word. */
  bounced: number;
  complained: number;
}

/** Where everybody stands: enrollments by state, subscribers waiting to confirm or stopped by a bounce/complaint. */
export async function stateCounts(db: Db, courseSlug: string): Promise<StateCounts> {
  courseFor(courseSlug);
  const [byState, byStatus] = await Promise.all([
    db.select({ key: enrollments.state, n: count() }).from(enrollments).where(eq(enrollments.course, courseSlug)).groupBy(enrollments.state),
    db
      .select({ key: subscribers.status, n: count() })
      .from(subscribers)
      .where(inArray(subscribers.status, ["pending", "bounced", "complained"]))
      .groupBy(subscribers.status),
  ]);
  const of = (rows: { key: string; n: number }[], key: string) => rows.find((r) => r.key === key)?.n ?? 0;
  return {
    pending: of(byStatus, "pending"),
    active: of(byState, "active"),
    paused: of(byState, "paused"),
    completed: of(byState, "completed"),
    left: of(byState, "stopped"),
    failed: of(byState, "failed"),
    bounced: of(byStatus, "bounced"),
    complained: of(byStatus, "complained"),
  };
}

/** Lessons due before `now + 24 h`, by lesson (enrollments_due_idx). Overdue ones count too. */
export async function dueNextDay(db: Db, courseSlug: string, now: number): Promise<{ lesson: number; n: number }[]> {
  courseFor(courseSlug);
  return db
    .select({ lesson: enrollments.nextLesson, n: count() })
    .from(enrollments)
    .where(and(eq(enrollments.course, courseSlug), eq(enrollments.state, "active"), lt(enrollments.nextSendAt, now + DAY_MS)))
    .groupBy(enrollments.nextLesson)
    .orderBy(enrollments.nextLesson);
}

/** Everything the dashboard shows, read concurrently. */
export async function dashboardReport(db: Db, courseSlug: string, now: number) {
  const [daily, rate, funnel, states, due, comments] = await Promise.all([
    dailyCounts(db, courseSlug, now),
    confirmationRate(db, courseSlug, now - 30 * DAY_MS),
    lessonFunnel(db, courseSlug),
    stateCounts(db, courseSlug),
    dueNextDay(db, courseSlug, now),
    lessonComments(db, courseSlug, { limit: 20 }),
  ]);
  return { course: courseFor(courseSlug), daily, rate, funnel, states, due, comments };
}
export type DashboardReport = Awaited<ReturnType<typeof dashboardReport>>;

// ── Subscribers ──────────────────────────────────────────────────────────────────────────────

export type SubscriberRow = typeof subscribers.$inferSelect;

/** One subscriber by exact (normalised) address or by id. */
export async function findSubscriberForConsole(db: Db, query: { email?: string; id?: string }): Promise<SubscriberRow | undefined> {
  if (query.id) return db.query.subscribers.findFirst({ where: eq(subscribers.id, query.id) });
  if (query.email) return db.query.subscribers.findFirst({ where: eq(subscribers.email, query.email) });
  return undefined;
}

/** A subscriber's page: the person, their enrollment in each course, their deliveries and the operators' actions. */
export async function subscriberDetail(db: Db, subscriberId: string) {
  const subscriber = await db.query.subscribers.findFirst({ where: eq(subscribers.id, subscriberId) });
  if (!subscriber) return undefined;
  const [enrolled, rows, actions] = await Promise.all([
    db.query.enrollments.findMany({ where: eq(enrollments.subscriberId, subscriberId) }),
    db.select().from(deliveries).where(eq(deliveries.subscriberId, subscriberId)).orderBy(deliveries.run, deliveries.lessonNumber),
    db.select().from(adminActions).where(eq(adminActions.subscriberId, subscriberId)).orderBy(desc(adminActions.at)).limit(50),
  ]);
  const courses = enrolled.flatMap((enrollment) => {
    const course = courseBySlug(enrollment.course);
    return course ? [{ course: asConsoleCourse(course), enrollment }] : [];
  });
  return { subscriber, courses, deliveries: rows, actions, consent: await consentOf(db, subscriber) };
}
export interface Consent {
  source: "form" | "import";
  /** How they confirmed: by the link in the confirmation email, or the operator's statement at import. */
  how: "link" | "operator" | null;
  confirmedAt: number | null;
  /** The operator's note of where an imported person opted in. */
  note: string | null;
}

/**
 * Where a subscriber's consent comes from. Today's schema has no consent columns (issue 12 adds
 * source and "how" to subscribers); an imported person is known by their import row.
 */
async function consentOf(db: Db, subscriber: SubscriberRow): Promise<Consent> {
  const [imported] = await db
    .select({ mode: importJobs.mode, note: importJobs.sourceNote })
    .from(importRows)
    .innerJoin(importJobs, eq(importJobs.id, importRows.jobId))
    .where(eq(importRows.subscriberId, subscriber.id))
    .limit(1);
  const confirmedAt = subscriber.confirmedAt;
  if (!imported) return { source: "form", how: confirmedAt ? "link" : null, confirmedAt, note: null };
  return { source: "import", how: confirmedAt ? (imported.mode === "consented" ? "operator" : "link") : null, confirmedAt, note: imported.note };
}

export type SubscriberDetail = NonNullable<Awaited<ReturnType<typeof subscriberDetail>>>;

// ── Failed mail ──────────────────────────────────────────────────────────────────────────────

/**
 * Failed deliveries (newest first) with what the retry would do: a retry is safe only while the
 * subscriber is active and their enrollment is still failed on that run (what /admin/retry-failed
 * revives); otherwise the reason it is not.
 */
export async function failedDeliveries(db: Db, courseSlug: string, limit = 200, deliveryId?: string) {
  courseFor(courseSlug);
  const rows = await db
    .select({
      id: deliveries.id,
      subscriberId: deliveries.subscriberId,
      lesson: deliveries.lessonNumber,
      run: deliveries.run,
      attempts: deliveries.attempts,
      lastError: deliveries.lastError,
      updatedAt: deliveries.updatedAt,
      subscriberStatus: subscribers.status,
      enrollmentState: enrollments.state,
      enrollmentRun: enrollments.run,
    })
    .from(deliveries)
    .innerJoin(subscribers, eq(subscribers.id, deliveries.subscriberId))
    .leftJoin(enrollments, and(eq(enrollments.subscriberId, deliveries.subscriberId), eq(enrollments.course, deliveries.course)))
    .where(and(eq(deliveries.course, courseSlug), eq(deliveries.status, "failed"), deliveryId ? eq(deliveries.id, deliveryId) : undefined))
    .orderBy(desc(deliveries.updatedAt))
    .limit(limit);
  return rows.map((row) => ({ ...row, retry: retryVerdict(row) }));
}

/** Failed deliveries of every course, newest first. */
export async function failedDeliveriesAllCourses(db: Db, limit = 200) {
  const perCourse = await Promise.all(consoleCourses().map(async (course) => (await failedDeliveries(db, course.slug, limit)).map((row) => ({ ...row, course: course.title }))));
  return perCourse.flat().sort((a, b) => b.updatedAt - a.updatedAt).slice(0, limit);
}

/**
 * Batches held for the operator (src/drip/dispatch.ts): the provider never answered, and Resend
 * forgets an idempotency key 24 hours after its first use, so a resend could deliver twice. Their
 * members' lessons wait; each row says which course and lesson, how many people, and since when.
 */
export async function heldBatches(db: Db) {
  return db
    .select({
      id: sendBatches.id,
      course: sendBatches.course,
      lesson: sendBatches.lesson,
      attempts: sendBatches.attempts,
      firstAttemptAt: sendBatches.firstAttemptAt,
      members: sql<number>`(select count(*) from deliveries d where d.batch_id = send_batches.id)`,
    })
    .from(sendBatches)
    .where(eq(sendBatches.status, "held"))
    .orderBy(sendBatches.firstAttemptAt);
}

function retryVerdict(row: { subscriberStatus: string; enrollmentState: string | null; enrollmentRun: number | null; run: number }): { safe: true } | { safe: false; reason: string } {
  if (row.subscriberStatus !== "active") return { safe: false, reason: `The subscriber is ${row.subscriberStatus}: they must not be mailed.` };
  if (row.enrollmentRun !== row.run) return { safe: false, reason: "They restarted the course since: this lesson belongs to an old run." };
  if (row.enrollmentState !== "failed") return { safe: false, reason: `Their course is ${row.enrollmentState ?? "gone"}, not failed: the dispatcher handles it.` };
  return { safe: true };
}

// ── Export ───────────────────────────────────────────────────────────────────────────────────

export interface ExportRow {
  id: string;
  email: string;
  firstName: string | null;
  timeZone: string;
  status: string;
  createdAt: number;
  confirmedAt: number | null;
  state: string | null;
  nextLesson: number | null;
  /** "form" or "import" (today known by an import row; issue 12 moves it onto the subscriber). */
  source: string;
}

/** A page of the course's subscribers for the CSV export, ordered by id (keyset pagination: bounded memory). */
export async function exportPage(db: Db, courseSlug: string, afterId: string, limit: number): Promise<ExportRow[]> {
  courseFor(courseSlug);
  return db
    .select({
      id: subscribers.id,
      email: subscribers.email,
      firstName: subscribers.firstName,
      timeZone: subscribers.timeZone,
      status: subscribers.status,
      createdAt: subscribers.createdAt,
      confirmedAt: subscribers.confirmedAt,
      state: enrollments.state,
      nextLesson: enrollments.nextLesson,
      source: sql<string>`case when exists (select 1 from import_rows r where r.subscriber_id = ${subscribers.id}) then 'import' else 'form' end`,
    })
    .from(subscribers)
    .leftJoin(enrollments, and(eq(enrollments.subscriberId, subscribers.id), eq(enrollments.course, courseSlug)))
    // The course's people; on the default course also those in no course yet (waiting to confirm).
    .where(
      and(
        sql`${subscribers.id} > ${afterId}`,
        courseSlug === DEFAULT_COURSE_SLUG
          ? sql`(${enrollments.subscriberId} is not null or not exists (select 1 from enrollments e where e.subscriber_id = ${subscribers.id}))`
          : sql`${enrollments.subscriberId} is not null`,
      ),
    )
    .orderBy(subscribers.id)
    .limit(limit);
}

