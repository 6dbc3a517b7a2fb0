import { sql } from "drizzle-orm";
import type { Db } from "./client";
import type { Advance } from "./drip-queries";

/**
 * Dispatcher statements written for a plan that does not depend on table statistics, used by the
 * pass (src/drip/*) in place of their src/db/drip-queries.ts twins, which keep their callers.
 */

/**
 * `advanceEnrollments` (drip-queries.ts) with the same meaning, driven from the VALUES list: each
 * advance finds its row by the primary key, so a batch costs O(batch), not O(rows of the course).
 * Without the unary `+` (https://www.sqlite.org/optoverview.html#disqualifying_where_clause_terms_using_unary_)
 * SQLite, lacking statistics on the materialized VALUES, prefers `enrollments_due_idx` on
 * (course, state) and scans every active enrollment of the course for every batch, so a pass of N
 * emails cost O(N²): 2.4 ms per email at N = 100,000.
 */
export function advanceEnrollmentsByKey(db: Db, passId: string | null, advances: Advance[], now: number, course: string) {
  const values = sql.join(
    advances.map((a) => sql`(${a.subscriberId}, ${a.run}, ${a.lessonNumber}, ${a.next.nextLesson}, ${a.next.lastSentAt}, ${a.next.nextSendAt}, ${a.next.state}, ${a.next.completedAt})`),
    sql`, `,
  );
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
