import { afterEach, beforeEach, expect, it } from "vitest";
import { advanceEnrollments } from "../../src/db/drip-queries";
import type { Advance } from "../../src/db/drip-queries";
import { createTestContext, type TestContext } from "../support/test-app";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => t.close());

/** SQLite's plan for `query`: one line per step, e.g. "SEARCH enrollments USING INDEX …". */
async function planOf(query: { sql: string; params: unknown[] }): Promise<string[]> {
  const result = await t.db.$client.execute({ sql: `EXPLAIN QUERY PLAN ${query.sql}`, args: query.params as never[] });
  return result.rows.map((row) => String(row.detail));
}

// Guards the cost of a pass without timing it: a plan that scans the course's enrollments for each
// batch makes a pass of N emails cost O(N²) (2.4 ms per email at N = 100,000 when it did).
it("advancing a batch of 100 finds each enrollment by its key, never by scanning the course's due rows", async () => {
  const advances: Advance[] = Array.from({ length: 100 }, (_, i) => ({
    subscriberId: `subscriber-${i}`,
    run: 1,
    lessonNumber: 1,
    next: { nextLesson: 2, lastSentAt: 1, nextSendAt: 2, state: "active", completedAt: null },
  }));
  const plan = await planOf(advanceEnrollments(t.db, "pass-1", advances, 1, "clear-skin").getQuery());
  const enrollmentSteps = plan.filter((step) => /\benrollments\b/.test(step));
  expect(enrollmentSteps).toHaveLength(1);
  expect(enrollmentSteps[0]).toMatch(/^SEARCH enrollments USING (COVERING )?INDEX sqlite_autoindex_enrollments_1 \(subscriber_id=\?/);
});
