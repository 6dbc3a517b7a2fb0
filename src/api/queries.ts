import { and, asc, count, desc, eq, gt, inArray, lte, or, sql, type SQL } from "drizzle-orm";
import { COURSE_TITLE, LESSON_META } from "../course/meta";
import type { Db } from "../db/client";
import { deliveries, enrollments, events, subscribers } from "../db/schema";

/**
 * Every database read of the API, in one place, against today's one-course schema. When courses
 * become rows (issue 12: `courseBySlug`/`allCourses`, enrollments per subscriber and course), this
 * is the module to adapt; the routes only see the shapes below. Times are ms since the epoch (UTC).
 */

/** Today's one course. */
export const DEFAULT_COURSE_SLUG = "clear-skin";

export interface CourseInfo {
  slug: string;
  title: string;
  lessons: { number: number; slug: string; title: string }[];
}

export function allCourseInfo(): CourseInfo[] {
  return [{ slug: DEFAULT_COURSE_SLUG, title: COURSE_TITLE, lessons: LESSON_META.map(({ number, slug, title }) => ({ number, slug, title })) }];
}

export function courseInfo(slug: string): CourseInfo | undefined {
  return allCourseInfo().find((course) => course.slug === slug);
}

/** The lifecycle states the API filters and reports by (src/lifecycle/machine.ts `stateOf`). */
export const API_STATES = ["pending", "active", "paused", "completed", "failed", "left", "unsubscribed", "bounced", "complained"] as const;
export type ApiState = (typeof API_STATES)[number];

/** Delivery statuses that imply each funnel step was reached (statuses only ever move forward). */
const REACHED = {
  sent: ["sent", "delivered", "delivery_delayed", "opened", "clicked", "bounced", "complained"],
  delivered: ["delivered", "opened", "clicked", "complained"],
  opened: ["opened", "clicked"],
  clicked: ["clicked"],
} as const;

export interface LessonFunnel {
  lesson: number;
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
}

/** Per-lesson funnel counts of a course, every run counted. */
export async function lessonFunnels(db: Db, _courseSlug: string): Promise<LessonFunnel[]> {
  const rows = await db
    .select({
      lesson: deliveries.lessonNumber,
      sent: sql<number>`sum(${deliveries.status} in ${REACHED.sent})`,
      delivered: sql<number>`sum(${deliveries.status} in ${REACHED.delivered})`,
      opened: sql<number>`sum(${deliveries.status} in ${REACHED.opened})`,
      clicked: sql<number>`sum(${deliveries.status} in ${REACHED.clicked})`,
    })
    .from(deliveries)
    .groupBy(deliveries.lessonNumber);
  return rows.map((r) => ({ lesson: r.lesson, sent: Number(r.sent), delivered: Number(r.delivered), opened: Number(r.opened), clicked: Number(r.clicked) }));
}

/** Counts of a course's subscribers by lifecycle state. */
export async function stateCounts(db: Db, _courseSlug: string): Promise<Record<string, number>> {
  const rows = await db
    .select({ state: stateSql, n: count() })
    .from(subscribers)
    .leftJoin(enrollments, eq(enrollments.subscriberId, subscribers.id))
    .groupBy(stateSql);
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

const LESSONS = LESSON_META.length;
/** `stateOf` in SQL, for filtering and counting. */
const stateSql = sql<ApiState>`case
  when ${subscribers.status} <> 'active' then ${subscribers.status}
  when ${enrollments.state} is null then 'pending'
  when ${enrollments.state} in ('active', 'stopped') and ${enrollments.nextLesson} > ${LESSONS} then 'completed'
  when ${enrollments.state} = 'stopped' then 'left'
  else ${enrollments.state} end`;

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

/** Subscribers oldest first, after `after`; `limit` rows. */
export async function listSubscribers(
  db: Db,
  filter: { course?: string; state?: ApiState; after?: Position; limit: number },
): Promise<SubscriberWithEnrollments[]> {
  const conditions: SQL[] = [];
  if (filter.state) conditions.push(sql`${stateSql} = ${filter.state}`);
  // Today every subscriber, pending ones included, signed up for the one course, so a course filter
  // (already checked to name it) keeps everyone. Issue 12: filter on the course's enrollments.
  if (filter.course && filter.course !== DEFAULT_COURSE_SLUG) return [];
  if (filter.after) {
    const { createdAt, id } = filter.after;
    conditions.push(or(gt(subscribers.createdAt, createdAt), and(eq(subscribers.createdAt, createdAt), gt(subscribers.id, id)))!);
  }
  const rows = await db
    .select({ subscriber: subscribers, enrollment: enrollments, state: stateSql })
    .from(subscribers)
    .leftJoin(enrollments, eq(enrollments.subscriberId, subscribers.id))
    .where(and(...conditions))
    .orderBy(asc(subscribers.createdAt), asc(subscribers.id))
    .limit(filter.limit);
  return rows.map(withEnrollments);
}

export async function getSubscriber(db: Db, id: string): Promise<SubscriberWithEnrollments | undefined> {
  const [row] = await db
    .select({ subscriber: subscribers, enrollment: enrollments, state: stateSql })
    .from(subscribers)
    .leftJoin(enrollments, eq(enrollments.subscriberId, subscribers.id))
    .where(eq(subscribers.id, id));
  return row ? withEnrollments(row) : undefined;
}

function withEnrollments(row: { subscriber: SubscriberRow; enrollment: EnrollmentRow | null; state: ApiState }): SubscriberWithEnrollments {
  return {
    subscriber: row.subscriber,
    state: row.state,
    enrollments: row.enrollment ? [{ ...row.enrollment, courseSlug: DEFAULT_COURSE_SLUG }] : [],
  };
}

export type DeliveryRow = typeof deliveries.$inferSelect & { courseSlug: string };

/** A subscriber's deliveries, newest first (at most 500: a course has a handful of lessons per run). */
export async function subscriberDeliveries(db: Db, subscriberId: string): Promise<DeliveryRow[]> {
  const rows = await db.select().from(deliveries).where(eq(deliveries.subscriberId, subscriberId)).orderBy(desc(deliveries.createdAt)).limit(500);
  return rows.map((row) => ({ ...row, courseSlug: DEFAULT_COURSE_SLUG }));
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
