import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import type { AppDeps } from "../src/app-env";
import type { Db } from "../src/db/client";
import { applyMigrations } from "../src/db/migrate";
import { runDispatch } from "../src/drip/dispatch";
import { silentLogger } from "../src/lib/logger";
import { createResendMailer } from "../src/mail/resend";
import { startFakeResend, type FakeResend } from "./support/fake-resend";
import { releaseDatabase } from "./support/migrations";
import { createTestClock, testConfig } from "./support/test-app";

/**
 * The release before batches as rows (migrations 0000–0004) kept an uncertain batch's key on its
 * delivery rows only. After the upgrade (0005) such a batch must still be completed exactly once.
 */

const T0 = Date.parse("2026-03-02T12:00:00Z");
const MINUTE = 60_000;

/** Two readers whose lesson 1 went to the provider under the old key 'lessons-old' with no answer recorded. */
async function seedUncertainBatch(db: Db, lastTry: number) {
  await db.run(sql`insert into subscribers (id, email, first_name, time_zone, status, created_at, confirmed_at, confirmation_nonce) values
    ('s-a', 'a@example.com', 'Ada', 'UTC', 'active', ${T0}, ${T0}, 0), ('s-b', 'b@example.com', 'Bo', 'UTC', 'active', ${T0}, ${T0}, 0)`);
  await db.run(sql`insert into enrollments (subscriber_id, course, run, state, next_lesson, next_send_at, started_at, updated_at) values
    ('s-a', 'clear-skin', 1, 'active', 1, ${lastTry + MINUTE}, ${T0}, ${lastTry}), ('s-b', 'clear-skin', 1, 'active', 1, ${lastTry + MINUTE}, ${T0}, ${lastTry})`);
  await db.run(sql`insert into deliveries (id, subscriber_id, course, run, lesson_number, status, attempts, batch_key, created_at, updated_at) values
    ('d-a', 's-a', 'clear-skin', 1, 1, 'retrying', 1, 'lessons-old', ${T0}, ${lastTry}), ('d-b', 's-b', 'clear-skin', 1, 1, 'retrying', 1, 'lessons-old', ${T0}, ${lastTry})`);
}

describe("upgrading a database with a batch the previous release left uncertain", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function upgraded(lastTry: number): Promise<{ db: Db; deps: AppDeps; resend: FakeResend }> {
    const { db, close } = await releaseDatabase("0004_courses");
    const resend = await startFakeResend();
    cleanup.push(close, () => resend.close());
    await seedUncertainBatch(db, lastTry);
    await applyMigrations(db);
    const clock = createTestClock(lastTry + 2 * MINUTE);
    const mailer = createResendMailer({ apiKey: "re_test_key", baseUrl: resend.url, timeoutMs: 30_000 });
    return { db, resend, deps: { db, clock: clock.now, config: testConfig({}, resend.url), logger: silentLogger, mailer } };
  }

  it("becomes a batch row its members name, resent with the old key: a first attempt that went out is not sent again", async () => {
    const lastTry = Date.now() - 10 * MINUTE;
    const { db, deps, resend } = await upgraded(lastTry);
    expect((await db.run(sql`select id, status, course, lesson from send_batches`)).rows.map((r) => ({ ...r }))).toEqual([
      { id: "lessons-old", status: "retrying", course: "clear-skin", lesson: 1 },
    ]);
    expect((await db.run(sql`select batch_id from deliveries order by id`)).rows.map((r) => r.batch_id)).toEqual(["lessons-old", "lessons-old"]);
    // The old release's first attempt reached Resend (its answer was lost): Resend knows the key.
    await deps.mailer.sendBatch([{ from: "x@example.com", to: "a@example.com", subject: "Lesson 1", html: "<p>1</p>", text: "1" }], { idempotencyKey: "lessons-old" });
    resend.emails.length = 0;

    const report = await runDispatch(deps);
    expect(report.sent).toBe(2);
    expect(resend.requests.at(-1)).toMatchObject({ idempotencyKey: "lessons-old", status: 409 });
    expect(resend.emails).toHaveLength(0);
    expect((await db.run(sql`select status from deliveries order by id`)).rows.map((r) => r.status)).toEqual(["sent", "sent"]);
    expect((await db.run(sql`select next_lesson from enrollments order by subscriber_id`)).rows.map((r) => r.next_lesson)).toEqual([2, 2]);
    await runDispatch(deps);
    expect(resend.emails).toHaveLength(0);
  });

  it("a first attempt that never reached the provider goes out once, under the old key", async () => {
    const { deps, resend } = await upgraded(Date.now() - 10 * MINUTE);
    expect((await runDispatch(deps)).sent).toBe(2);
    expect(resend.emails.map((e) => e.to[0]).sort()).toEqual(["a@example.com", "b@example.com"]);
    expect(resend.emails.every((e) => e.idempotencyKey === "lessons-old")).toBe(true);
    await runDispatch(deps);
    expect(resend.emails).toHaveLength(2);
  });

  it("one last tried more than 23 hours ago is held for the operator, not resent", async () => {
    const { db, deps, resend } = await upgraded(Date.now() - 24 * 60 * MINUTE);
    const report = await runDispatch(deps);
    expect(report).toMatchObject({ sent: 0, held: 1 });
    expect(resend.requests).toHaveLength(0);
    expect((await db.run(sql`select status from send_batches`)).rows.map((r) => r.status)).toEqual(["held"]);
  });
});
