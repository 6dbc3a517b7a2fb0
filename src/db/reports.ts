import { and, count, eq, sql } from "drizzle-orm";
import type { Db } from "./client";
import { lessonRatings } from "./feedback";
import { deliveries, enrollments } from "./schema";

/**
 * Reports the console and the API share, so both show the same numbers. Delivered, opened,
 * clicked, bounced and complained come from first-seen times (set once by the provider's webhooks),
 * so one email can count as clicked and later complained about.
 */

/** The course a funnel is for: its slug and its lessons, in order. */
export interface FunnelCourse {
  slug: string;
  lessons: readonly { number: number; subject: string }[];
}

export interface FunnelRow {
  lesson: number;
  subject: string;
  sent: number;
  delivered: number;
  opened: number;
  clicked: number;
  /** "Was this lesson helpful?" answers and comments (src/db/feedback.ts), every run. */
  helpful: number;
  notHelpful: number;
  comments: number;
  bounced: number;
  complained: number;
  /** People who left the course with this as their last lesson. */
  left: number;
}

const HANDED_OVER = ["sent", "delivered", "delivery_delayed", "opened", "clicked", "bounced", "complained"] as const;

/**
 * The per-lesson funnel. Reads only the covering index deliveries_funnel_idx (lesson, status and
 * the first-seen times), so it stays fast with hundreds of thousands of deliveries.
 */
export async function lessonFunnel(db: Db, course: FunnelCourse): Promise<FunnelRow[]> {
  const courseSlug = course.slug;
  const [rows, leftRows, ratings] = await Promise.all([
    db
      .select({
        lesson: deliveries.lessonNumber,
        sent: sql<number>`sum(${deliveries.status} in ${HANDED_OVER})`,
        delivered: count(deliveries.deliveredAt),
        opened: count(deliveries.openedAt),
        clicked: count(deliveries.clickedAt),
        bounced: count(deliveries.bouncedAt),
        complained: count(deliveries.complainedAt),
      })
      .from(deliveries)
      .where(eq(deliveries.course, courseSlug))
      .groupBy(deliveries.lessonNumber),
    db
      .select({ lesson: sql<number>`${enrollments.nextLesson} - 1`, n: count() })
      .from(enrollments)
      .where(and(eq(enrollments.course, courseSlug), eq(enrollments.state, "stopped")))
      .groupBy(enrollments.nextLesson),
    lessonRatings(db, courseSlug),
  ]);
  return course.lessons.map((lesson) => {
    const row = rows.find((r) => r.lesson === lesson.number);
    const rating = ratings.find((r) => r.lesson === lesson.number);
    return {
      lesson: lesson.number,
      subject: lesson.subject,
      sent: Number(row?.sent ?? 0),
      delivered: row?.delivered ?? 0,
      opened: row?.opened ?? 0,
      clicked: row?.clicked ?? 0,
      helpful: rating?.helpful ?? 0,
      notHelpful: rating?.notHelpful ?? 0,
      comments: rating?.comments ?? 0,
      bounced: row?.bounced ?? 0,
      complained: row?.complained ?? 0,
      left: leftRows.find((r) => Number(r.lesson) === lesson.number)?.n ?? 0,
    };
  });
}
