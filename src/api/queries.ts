import { and, asc, count, desc, eq, gt, inArray, lte, or, sql, type SQL } from "drizzle-orm";
import type { Course } from "../course/course";
import type { Db } from "../db/client";
import { deliveries, enrollments, events, subscribers } from "../db/schema";

/**
 * Every database read of the API, in one place, over enrollments per (subscriber, course) and the
 * course registry (src/course/registry.ts); the routes only see the shapes below. Times are ms
 * since the epoch (UTC).
 */

/** The lifecycle states the API filters and reports by (src/lifecycle/machine.ts `stateOf`). */
export const API_STATES = ["pending", "active", "paused", "completed", "failed", "left", "unsubscribed", "bounced", "complained"] as const;
export type ApiState = (typeof API_STATES)[number];

/**
 * Counts of a course's subscribers by lifecycle state (in that course): those enrolled in it, and
 * subscribers with no enrollment at all (pending: the course they asked for is only in their link).
 */
export async function stateCounts(db: Db, course: Pick<Course, "slug" | "lessons">): Promise<Record<string, number>> {
  const state = stateSql(course.lessons.length);
  const rows = await db
    .select({ state, n: count() })
    .from(subscribers)
    .leftJoin(enrollments, and(eq(enrollments.subscriberId, subscribers.id), eq(enrollments.course, course.slug)))
    .where(inCourse())
    .groupBy(state);
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** `stateOf` in SQL for the joined enrollment of a course of `lessons` lessons, for filtering and counting. */
const stateSql = (lessons: number) => sql<ApiState>`case
  when ${subscribers.status} <> 'active' then ${subscribers.status}
  when ${enrollments.state} is null then 'pending'
  when ${enrollments.state} in ('active', 'stopped') and ${enrollments.nextLesson} > ${lessons} then 'completed'
  when ${enrollments.state} = 'stopped' then 'left'
  else ${enrollments.state} end`;

/** The joined course enrollment exists, or the subscriber has none in any course yet. */
const inCourse = () =>
  or(sql`${enrollments.subscriberId} is not null`, sql`not exists (select 1 from enrollments x where x.subscriber_id = ${subscribers.id})`)!;

export type SubscriberRow = typeof subscribers.$inferSelect;
export type EnrollmentRow = typeof enrollments.$inferSelect;
export interface SubscriberWithEnrollments {
  subscriber: SubscriberRow;
  state: ApiState;
  enrollments: (EnrollmentRow & { courseSlug: string })[];
}

/** A page position: the last row's creation time and id. */
export interface Position {
  createdAt: number;
  id: string;
}

/**
 * Subscribers oldest first, after `after`; `limit` rows. `state` is the state in `course` (default:
 * the default course, `lessons` its lesson count); with `filtered`, only subscribers enrolled in
 * `course` or not yet in any course (pending) are listed. Each row carries all its enrollments.
 */
export async function listSubscribers(
  db: Db,
  filter: { course: Pick<Course, "slug" | "lessons">; filtered: boolean; state?: ApiState; after?: Position; limit: number },
): Promise<SubscriberWithEnrollments[]> {
  const conditions: SQL[] = [];
  const state = stateSql(filter.course.lessons.length);
  if (filter.state) conditions.push(sql`${state} = ${filter.state}`);
  if (filter.filtered) conditions.push(inCourse());
  if (filter.after) {
    const { createdAt, id } = filter.after;
    conditions.push(or(gt(subscribers.createdAt, createdAt), and(eq(subscribers.createdAt, createdAt), gt(subscribers.id, id)))!);
  }
  const rows = await db
    .select({ subscriber: subscribers, state })
    .from(subscribers)
    .leftJoin(enrollments, and(eq(enrollments.subscriberId, subscribers.id), eq(enrollments.course, filter.course.slug)))
    .where(and(...conditions))
    .orderBy(asc(subscribers.createdAt), asc(subscribers.id))
    .limit(filter.limit);
  return withEnrollments(db, rows);
}

/** One subscriber, `state` being their state in `course` (default: the default course). */
export async function getSubscriber(db: Db, id: string, course: Pick<Course, "slug" | "lessons">): Promise<SubscriberWithEnrollments | undefined> {
  const rows = await db
    .select({ subscriber: subscribers, state: stateSql(course.lessons.length) })
    .from(subscribers)
    .leftJoin(enrollments, and(eq(enrollments.subscriberId, subscribers.id), eq(enrollments.course, course.slug)))
    .where(eq(subscribers.id, id));
  return (await withEnrollments(db, rows))[0];
}

/** Adds every enrollment of each subscriber (one query), in the order they joined. */
async function withEnrollments(db: Db, rows: { subscriber: SubscriberRow; state: ApiState }[]): Promise<SubscriberWithEnrollments[]> {
  if (rows.length === 0) return [];
  const all = await db
    .select()
    .from(enrollments)
    .where(inArray(enrollments.subscriberId, rows.map((r) => r.subscriber.id)))
    .orderBy(asc(enrollments.startedAt), asc(enrollments.course));
  return rows.map((row) => ({
    subscriber: row.subscriber,
    state: row.state,
    enrollments: all.filter((e) => e.subscriberId === row.subscriber.id).map((e) => ({ ...e, courseSlug: e.course })),
  }));
}

export type DeliveryRow = typeof deliveries.$inferSelect & { courseSlug: string };

/** A subscriber's deliveries, newest first (at most 500: a course has a handful of lessons per run). */
export async function subscriberDeliveries(db: Db, subscriberId: string): Promise<DeliveryRow[]> {
  const rows = await db.select().from(deliveries).where(eq(deliveries.subscriberId, subscriberId)).orderBy(desc(deliveries.createdAt)).limit(500);
  return rows.map((row) => ({ ...row, courseSlug: row.course }));
}

export type EventRow = typeof events.$inferSelect;

/** Events in id (time) order after `afterId`, optionally of one subscriber, course or types. */
export async function listEvents(
  db: Db,
  filter: { subscriberId?: string; course?: string; types?: string[]; afterId?: number; limit: number },
): Promise<EventRow[]> {
  const conditions: SQL[] = [];
  if (filter.subscriberId) conditions.push(eq(events.subscriberId, filter.subscriberId));
  if (filter.course) conditions.push(eq(events.courseSlug, filter.course));
  if (filter.types?.length) conditions.push(inArray(events.type, filter.types));
  if (filter.afterId) conditions.push(gt(events.id, filter.afterId));
  return db.select().from(events).where(and(...conditions)).orderBy(asc(events.id)).limit(filter.limit);
}

/** The old admin stats: counts by state, no personal data. */
export async function serviceStats(db: Db, now: number) {
  const countBy = async <T extends string>(rows: Promise<{ key: T; n: number }[]>) => Object.fromEntries((await rows).map((r) => [r.key, r.n]));
  const [subscriberStates, enrollmentStates, deliveryStatuses, [due]] = await Promise.all([
    countBy(db.select({ key: subscribers.status, n: count() }).from(subscribers).groupBy(subscribers.status)),
    countBy(db.select({ key: enrollments.state, n: count() }).from(enrollments).groupBy(enrollments.state)),
    countBy(db.select({ key: deliveries.status, n: count() }).from(deliveries).groupBy(deliveries.status)),
    db.select({ n: count() }).from(enrollments).where(and(eq(enrollments.state, "active"), lte(enrollments.nextSendAt, now))),
  ]);
  return { subscribers: subscriberStates, enrollments: enrollmentStates, deliveries: deliveryStatuses, dueNow: due?.n ?? 0 };
}
