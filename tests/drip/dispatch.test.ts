import { eq } from "drizzle-orm";
import { DateTime } from "luxon";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppDeps } from "../../src/app-env";
import { LESSON_COUNT, lessonByNumber } from "../../src/course";
import { pauseUntilResumed, resume, unsubscribe } from "../../src/db/controls";
import { claimDue, listDue, upsertDeliveries } from "../../src/db/drip-queries";
import { deliveries, enrollments, sendBatches, subscribers } from "../../src/db/schema";
import { retryFailed } from "../../src/api/retry-failed";
import { runDispatch } from "../../src/drip/dispatch";
import { openDatabase } from "../../src/node-deps";
import type { Mailer } from "../../src/mail/mailer";
import { createResendMailer } from "../../src/mail/resend";
import { createSubscriber, createSubscribers } from "../support/factories";
import { confirmByClick, signUp } from "../support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "../support/test-app";

let t: TestContext;
// No provider call in these tests ends by the mailer's timeout unless it is meant to: faults are
// answers, dropped connections and held requests, so results do not depend on the machine's speed.
beforeEach(async () => {
  t = await createTestContext({ timeoutMs: 60_000 });
});
afterEach(async () => t.close());

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const noSleep = async () => {};

async function enrollment(subscriberId: string) {
  return (await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriberId) }))!;
}

/** The provider's batch calls so far, refused ones included. */
const batchCalls = () => t.resend.requests.filter((r) => r.path === "/emails/batch");

/** Counts captured lessons per (recipient, subject), to spot any duplicate. */
function lessonCounts() {
  const counts = new Map<string, number>();
  for (const email of t.resend.emails) {
    const key = `${email.to[0]}|${email.subject}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

describe("dispatch", () => {
  it("lesson 1 goes out on the first pass after confirmation", async () => {
    await signUp(t, { email: "first@example.com", firstName: "Mia", timeZone: "Europe/Paris" });
    await confirmByClick(t.app, linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`));

    const report = await runDispatch(t.deps);
    expect(report.sent).toBe(1);
    const [lesson] = t.resend.emailsTo("first@example.com").filter((e) => e.subject === lessonByNumber(1)!.subject);
    expect(lesson).toBeDefined();
    expect(lesson!.text).toContain("Hi Mia,");
    expect(lesson!.headers?.["List-Unsubscribe"]).toMatch(new RegExp(`^<${TEST_APP_URL}/unsubscribe/`));
    expect(lesson!.headers?.["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
  });

  // Scale (issue 16): new delivery rows and batches must land at the end of their key index, not on
  // random pages, or recording a batch costs more as the table grows.
  it("delivery rows and batches written by later passes have ids that sort after earlier ones", async () => {
    await createSubscribers(t.db, 3, t.clock.now());
    await runDispatch(t.deps);
    t.clock.advance(3 * DAY);
    await runDispatch(t.deps);
    const rows = await t.db.select({ id: deliveries.id, lesson: deliveries.lessonNumber }).from(deliveries);
    const ids = (lesson: number) => rows.filter((r) => r.lesson === lesson).map((r) => r.id);
    expect(ids(1)).toHaveLength(3);
    expect(ids(2)).toHaveLength(3);
    for (const later of ids(2)) for (const earlier of ids(1)) expect(later > earlier).toBe(true);
    const batches = await t.db.select({ id: sendBatches.id, createdAt: sendBatches.createdAt }).from(sendBatches);
    const [first, second] = batches.sort((a, b) => a.createdAt - b.createdAt);
    expect(second!.id > first!.id).toBe(true);
  });

  it("a subscriber with no first name is greeted with the fallback, and names are escaped in html", async () => {
    const plain = await createSubscriber(t.db, t.clock.now(), { firstName: null });
    const tricky = await createSubscriber(t.db, t.clock.now(), { firstName: "<b>Zoë & Co</b>" });
    await runDispatch(t.deps);
    expect(t.resend.emailsTo(plain.email)[0]!.text).toContain("Hi there,");
    const html = t.resend.emailsTo(tricky.email)[0]!.html;
    expect(html).toContain("Hi &lt;b&gt;Zoë &amp; Co&lt;/b&gt;,");
    expect(html).not.toContain("<b>Zoë");
  });

  it("walks a subscriber through all six lessons, each at 08:00 in their own time zone, then marks them complete", async () => {
    const zone = "America/Los_Angeles";
    const subscriber = await createSubscriber(t.db, t.clock.now(), { timeZone: zone });
    for (let n = 1; n <= LESSON_COUNT; n++) {
      const due = (await enrollment(subscriber.id)).nextSendAt!;
      if (n > 1) expect(local(due, zone)).toMatch(/ 08:00$/);
      t.clock.set(due - MINUTE);
      expect((await runDispatch(t.deps)).sent, `lesson ${n} is not early`).toBe(0);
      t.clock.set(due);
      expect((await runDispatch(t.deps)).sent, `lesson ${n} goes out when due`).toBe(1);
    }
    const subjects = t.resend.emailsTo(subscriber.email).map((e) => e.subject);
    expect(subjects).toEqual(Array.from({ length: LESSON_COUNT }, (_, i) => lessonByNumber(i + 1)!.subject));
    expect(await enrollment(subscriber.id)).toMatchObject({ state: "completed", nextSendAt: null });
    t.clock.advance(30 * DAY);
    expect((await runDispatch(t.deps)).sent).toBe(0);
  });

  it("after a week of downtime the course resumes with the next lesson only, not a burst", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    t.clock.advance(12 * DAY);
    await runDispatch(t.deps);
    await runDispatch(t.deps);
    expect(t.resend.emailsTo(subscriber.email)).toHaveLength(2);
    const { nextSendAt, lastSentAt } = await enrollment(subscriber.id);
    expect(nextSendAt! - lastSentAt!).toBeGreaterThanOrEqual(20 * 60 * MINUTE);
  });

  it("four concurrent passes over one database send each lesson exactly once", async () => {
    await createSubscribers(t.db, 230, t.clock.now(), "Asia/Kolkata");
    // Four independent connections to the same file, as four processes would have.
    const file = (await t.db.$client.execute("PRAGMA database_list")).rows[0]!.file as string;
    const connections = await Promise.all(Array.from({ length: 4 }, () => openDatabase(`file:${file}`)));
    try {
      const passes = await Promise.all(
        connections.map(({ db }) => {
          const deps: AppDeps = { ...t.deps, db, mailer: createResendMailer({ apiKey: "re_test", baseUrl: t.resend.url }) };
          return runDispatch(deps, { batchSize: 25 });
        }),
      );
      expect(passes.reduce((sum, r) => sum + r.sent, 0)).toBe(230);
      expect(t.resend.emails).toHaveLength(230);
      expect(new Set(t.resend.emails.map((e) => e.to[0])).size).toBe(230);
      expect(passes.filter((r) => r.sent > 0).length, "the work was shared").toBeGreaterThan(1);
    } finally {
      for (const { client } of connections) client.close();
    }
  });

  it("waits for the rate-limit window to reset when the provider says none are left", async () => {
    await createSubscribers(t.db, 150, t.clock.now());
    t.resend.successHeaders = { "ratelimit-limit": "2", "ratelimit-remaining": "0", "ratelimit-reset": "1" };
    const waits: number[] = [];
    const report = await runDispatch(t.deps, { sleep: async (ms) => void waits.push(ms) });
    expect(report.sent).toBe(150);
    expect(waits).toEqual([1000, 1000]);
  });

  it("a 429 with a short retry-after is waited out within the pass", async () => {
    await createSubscribers(t.db, 150, t.clock.now());
    t.resend.failNext(429, { headers: { "retry-after": "1" }, body: { statusCode: 429, name: "rate_limit_exceeded", message: "Too many requests" } });
    const waits: number[] = [];
    const report = await runDispatch(t.deps, { sleep: async (ms) => void waits.push(ms) });
    expect(report).toMatchObject({ sent: 150, retried: 0, stoppedBy: "done" });
    expect(waits).toEqual([1000]);
    expect(t.resend.emails).toHaveLength(150);
  });

  it("a 500 is retried with backoff and nothing is lost", async () => {
    await createSubscribers(t.db, 5, t.clock.now());
    t.resend.failNext(500, { times: 2 });
    expect((await runDispatch(t.deps)).retried).toBe(5);
    t.clock.advance(1 * MINUTE);
    expect((await runDispatch(t.deps)).retried).toBe(5);
    t.clock.advance(2 * MINUTE);
    expect((await runDispatch(t.deps)).sent).toBe(5);
    expect([...lessonCounts().values()].every((n) => n === 1)).toBe(true);
    const rows = await t.db.select().from(deliveries);
    expect(rows.every((d) => d.status === "sent" && d.attempts === 3)).toBe(true);
  });

  it("a provider that never answers times out and the retry sends once", async () => {
    await createSubscribers(t.db, 2, t.clock.now());
    t.resend.hangNext();
    // Only this pass has a short timeout: a request that never gets an answer times out however slow the machine.
    const impatient = createResendMailer({ apiKey: "re_test", baseUrl: t.resend.url, timeoutMs: 200 });
    expect((await runDispatch({ ...t.deps, mailer: impatient })).retried).toBe(2);
    t.clock.advance(1 * MINUTE);
    expect((await runDispatch(t.deps)).sent).toBe(2);
    expect(t.resend.emails).toHaveLength(2);
  });

  it("a send that went through but whose answer was lost is not sent twice on retry", async () => {
    await createSubscribers(t.db, 4, t.clock.now());
    t.resend.dropNext({ accept: true });
    expect((await runDispatch(t.deps)).retried).toBe(4);
    expect(t.resend.emails).toHaveLength(4);
    t.clock.advance(1 * MINUTE);
    expect((await runDispatch(t.deps)).sent).toBe(4);
    expect(t.resend.emails).toHaveLength(4);
  });

  it("a batch whose answer was lost is retried whole with its key, even when newer work splits the claim", async () => {
    const early = await createSubscribers(t.db, 3, t.clock.now());
    t.resend.dropNext({ accept: true });
    expect((await runDispatch(t.deps, { batchSize: 3 })).retried).toBe(3);
    expect(t.resend.emails).toHaveLength(3);
    // Someone confirms meanwhile: due before the retry, so the next claim takes them first.
    t.clock.advance(1 * MINUTE);
    const newcomer = await createSubscriber(t.db, t.clock.now() - 30_000);

    await runDispatch(t.deps, { batchSize: 3 });
    expect(t.resend.emailsTo(newcomer.email)).toHaveLength(1);
    for (const s of early) expect(t.resend.emailsTo(s.email), s.email).toHaveLength(1);
    expect(await t.db.$count(deliveries, eq(deliveries.status, "sent"))).toBe(4);
  });

  it("a member paused before an uncertain batch's retry still gets the lesson, once, after resuming", async () => {
    const [a, b, c] = await createSubscribers(t.db, 3, t.clock.now());
    t.resend.failNext(500);
    expect((await runDispatch(t.deps)).retried).toBe(3);
    const schedule = () => ({ now: t.clock.now(), sendHour: t.config.sendHour });
    expect((await pauseUntilResumed(t.db, c!.id, schedule())).ok).toBe(true);
    t.clock.advance(1 * MINUTE);
    expect((await runDispatch(t.deps)).sent).toBe(2);

    expect((await resume(t.db, c!.id, schedule())).ok).toBe(true);
    t.clock.set((await enrollment(c!.id)).nextSendAt!);
    expect((await runDispatch(t.deps)).sent).toBe(1);
    for (const s of [a, b, c]) expect(t.resend.emailsTo(s!.email), s!.email).toHaveLength(1);
  });

  it("an uncertain batch is resent from its row with the same key, to its still-active members only, re-claiming nobody", async () => {
    const [a, b, c] = await createSubscribers(t.db, 3, t.clock.now());
    t.resend.failNext(500);
    expect((await runDispatch(t.deps)).retried).toBe(3);
    expect((await pauseUntilResumed(t.db, c!.id, { now: t.clock.now(), sendHour: t.config.sendHour })).ok).toBe(true);
    t.clock.advance(1 * MINUTE);

    const report = await runDispatch(t.deps);
    expect(report).toMatchObject({ sent: 2, claimed: 0 });
    const calls = batchCalls();
    expect(calls.map((call) => call.count)).toEqual([3, 2]);
    expect(calls[1]!.idempotencyKey).toBe(calls[0]!.idempotencyKey);
    for (const s of [a, b]) expect(t.resend.emailsTo(s!.email), s!.email).toHaveLength(1);
    expect(t.resend.emailsTo(c!.email)).toHaveLength(0);
    expect(await t.db.select({ status: sendBatches.status }).from(sendBatches)).toEqual([{ status: "sent" }]);
  });

  it("a 409 for the reused key after a member left proves the first attempt went out: the rest are marked sent, not mailed again", async () => {
    const [a, b, c] = await createSubscribers(t.db, 3, t.clock.now());
    t.resend.dropNext({ accept: true });
    expect((await runDispatch(t.deps)).retried).toBe(3);
    await unsubscribe(t.db, c!.id, t.clock.now(), t.config.appSecret);
    t.clock.advance(1 * MINUTE);

    expect((await runDispatch(t.deps)).sent).toBe(2);
    expect(batchCalls().map((call) => call.status)).toEqual([0, 409]);
    expect(t.resend.emails).toHaveLength(3);
    expect(await t.db.$count(deliveries, eq(deliveries.status, "sent"))).toBe(3);
    for (const s of [a, b]) expect((await enrollment(s!.id)).nextLesson).toBe(2);
  });

  it("a 429 retires the batch's key: its members go out after the backoff in a new batch under a new key", async () => {
    const people = await createSubscribers(t.db, 4, t.clock.now());
    t.resend.failNext(429, { body: { statusCode: 429, name: "rate_limit_exceeded", message: "Too many requests" } });
    expect(await runDispatch(t.deps)).toMatchObject({ sent: 0, retried: 4, stoppedBy: "rate_limited" });
    expect(await t.db.select({ status: sendBatches.status }).from(sendBatches)).toEqual([{ status: "failed" }]);
    expect((await runDispatch(t.deps)).sent, "not before the backoff").toBe(0);
    t.clock.advance(1 * MINUTE);

    expect((await runDispatch(t.deps)).sent).toBe(4);
    const [refused, sent] = batchCalls();
    expect(sent!.idempotencyKey).not.toBe(refused!.idempotencyKey);
    for (const p of people) expect(t.resend.emailsTo(p.email)).toHaveLength(1);
  });

  it("a 4xx refusal of one address retires the key; the others go out alone under new keys", async () => {
    const people = await createSubscribers(t.db, 3, t.clock.now());
    t.resend.failNext(422, { body: { statusCode: 422, name: "validation_error", message: "Invalid `to` field" } });
    await runDispatch(t.deps);
    const keys = batchCalls().map((call) => call.idempotencyKey);
    expect(new Set(keys).size).toBe(keys.length);
    for (const p of people) expect(t.resend.emailsTo(p.email)).toHaveLength(1);
  });

  it("a batch still unknown 23 hours after its first attempt is held for the operator: never resent, its lessons neither sent nor skipped", async () => {
    const people = await createSubscribers(t.db, 2, t.clock.now());
    let wall = Date.now();
    const wallClock = () => wall;
    t.resend.failNext(500);
    await runDispatch(t.deps, { wallClock });
    wall += 23 * 60 * MINUTE;
    t.clock.advance(1 * MINUTE);

    const report = await runDispatch(t.deps, { wallClock });
    expect(report).toMatchObject({ held: 1, sent: 0 });
    expect(await t.db.select({ status: sendBatches.status }).from(sendBatches)).toEqual([{ status: "held" }]);
    for (let day = 0; day < 5; day++) {
      t.clock.advance(DAY);
      wall += DAY;
      expect((await runDispatch(t.deps, { wallClock })).sent).toBe(0);
    }
    expect(batchCalls()).toHaveLength(1);
    for (const p of people) expect(await enrollment(p.id)).toMatchObject({ state: "active", nextLesson: 1 });
    expect((await t.db.select().from(deliveries)).map((d) => d.status)).toEqual(["retrying", "retrying"]);
  });

  it("an uncertain batch given up at the attempt cap and revived by the operator goes out under its own key, once", async () => {
    await createSubscribers(t.db, 2, t.clock.now());
    t.resend.dropNext({ accept: true }); // it went out; the answer was lost
    t.resend.failNext(503);
    await runDispatch(t.deps, { maxAttempts: 2 });
    t.clock.advance(1 * MINUTE);
    expect((await runDispatch(t.deps, { maxAttempts: 2 })).failed).toBe(2);

    expect(await retryFailed(t.db, t.clock.now())).toBe(2);
    expect((await runDispatch(t.deps)).sent).toBe(2);
    expect(t.resend.emails).toHaveLength(2);
    expect(new Set(batchCalls().map((call) => call.idempotencyKey)).size).toBe(1);
  });

  it("uncertain batches under many keys still keep a pass within its subrequest budget", async () => {
    await createSubscribers(t.db, 100, t.clock.now());
    t.resend.failNext(500, { times: 8 });
    await runDispatch(t.deps, { batchSize: 13 }); // eight uncertain batches of 13 (the last of 9)
    t.clock.advance(1 * MINUTE);
    const report = await runDispatch(t.deps, { batchSize: 10, budget: { maxSubrequests: 20 } });
    expect(report.calls).toBeLessThanOrEqual(20);
    expect(report.sent).toBeGreaterThan(0);
  });

  it("an unsubscribe that lands while the previous batch is with the provider stops that person's lesson", async () => {
    const rows = await createSubscribers(t.db, 150, t.clock.now());
    // Claims go in subscriber-id order when all are due at once: the last id is in the second batch.
    const last = [...rows].sort((a, b) => (a.id < b.id ? -1 : 1)).at(-1)!;
    const held = t.resend.holdNext();
    const pass = runDispatch(t.deps);
    await held.arrived;
    await unsubscribe(t.db, last.id, t.clock.now(), t.config.appSecret);
    held.release();
    const report = await pass;
    expect(report.sent).toBe(149);
    expect(t.resend.emailsTo(last.email)).toHaveLength(0);
  });

  it("a refused API key stops the pass without failing anyone, and the next pass sends", async () => {
    await createSubscribers(t.db, 5, t.clock.now());
    t.resend.failNext(401, { body: { statusCode: 401, name: "validation_error", message: "API key is invalid" } });
    const refused = await runDispatch(t.deps);
    expect(refused).toMatchObject({ sent: 0, failed: 0, retried: 0, stoppedBy: "provider_refused" });
    const states = await t.db.select().from(enrollments);
    expect(states.every((e) => e.state === "active" && e.leaseId === null)).toBe(true);
    expect((await runDispatch(t.deps)).sent).toBe(5);
  });

  it("a refused sender address is the operator's problem, not the subscribers'", async () => {
    await createSubscribers(t.db, 3, t.clock.now());
    t.resend.failNext(422, { body: { statusCode: 422, name: "validation_error", message: "Invalid `from` field." } });
    expect(await runDispatch(t.deps)).toMatchObject({ failed: 0, stoppedBy: "provider_refused" });
    expect(await t.db.$count(enrollments, eq(enrollments.state, "failed"))).toBe(0);
  });

  it("gives up after the attempt cap and marks the delivery failed with its reason", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    t.resend.failNext(503, { times: 10 });
    for (let i = 0; i < 3; i++) {
      await runDispatch(t.deps, { maxAttempts: 3 });
      t.clock.advance(10 * MINUTE);
    }
    const [delivery] = await t.db.select().from(deliveries);
    expect(delivery).toMatchObject({ status: "failed", attempts: 3 });
    expect(delivery!.lastError).toContain("503");
    expect((await enrollment(subscriber.id)).state).toBe("failed");
  });

  it("an invalid recipient stops only that subscriber; the rest of the batch is sent", async () => {
    const good = await createSubscribers(t.db, 3, t.clock.now());
    t.resend.failNext(422, { body: { statusCode: 422, name: "validation_error", message: "Invalid `to` field" } });
    t.resend.failNext(422, { body: { statusCode: 422, name: "validation_error", message: "Invalid `to` field" } });
    const report = await runDispatch(t.deps);
    expect(report).toMatchObject({ sent: 2, failed: 1 });
    expect(t.resend.emails).toHaveLength(2);
    const states = await Promise.all(good.map((s) => enrollment(s.id)));
    expect(states.filter((e) => e.state === "failed")).toHaveLength(1);
  });

  it("permissive validation: one address the provider refuses in a batch of 100 fails only that subscriber, in one request", async () => {
    const people = await createSubscribers(t.db, 100, t.clock.now());
    const bad = people[37]!;
    t.resend.refuse.add(bad.email.toLowerCase());
    const report = await runDispatch(t.deps);
    expect(report).toMatchObject({ sent: 99, failed: 1 });
    expect(t.resend.requests.filter((r) => r.path === "/emails/batch")).toHaveLength(1);
    expect(t.resend.emailsTo(bad.email)).toHaveLength(0);
    expect(new Set(t.resend.emails.map((e) => e.to[0])).size).toBe(99);
    expect((await enrollment(bad.id)).state).toBe("failed");
    const refused = await t.db.query.deliveries.findFirst({ where: eq(deliveries.subscriberId, bad.id) });
    expect(refused).toMatchObject({ status: "failed", attempts: 1 });
    expect(refused!.lastError).toContain("Invalid `to` field");
    expect(refused!.lastError).not.toContain(bad.email);
    const others = await Promise.all(people.filter((p) => p !== bad).map((p) => enrollment(p.id)));
    expect(others.every((e) => e.nextLesson === 2 && e.state === "active")).toBe(true);
  });

  it("without permissive validation the fake refuses the whole batch, as Resend does", async () => {
    t.resend.refuse.add("nobody@example.com");
    const mailer = createResendMailer({ apiKey: "re_test", baseUrl: t.resend.url });
    const email = (to: string) => ({ from: "a@example.com", to, subject: "s", html: "<p>h</p>", text: "h" });
    const strict = await mailer.sendBatch([email("one@example.com"), email("nobody@example.com")]);
    expect(strict).toMatchObject({ ok: false, error: { status: 422, kind: "recipient" } });
    const permissive = await mailer.sendBatch([email("one@example.com"), email("nobody@example.com"), email("two@example.com")], { batchValidation: "permissive" });
    expect(permissive).toMatchObject({ ok: true, rejected: [{ index: 1, error: { kind: "recipient" } }] });
    expect(permissive.ok && permissive.ids.map((id) => id !== null)).toEqual([true, false, true]);
    expect(t.resend.emails.map((e) => e.to[0])).toEqual(["one@example.com", "two@example.com"]);
  });

  it("a pass killed after the provider accepted a batch is finished by the next pass after the lease, without duplicates", async () => {
    await createSubscribers(t.db, 120, t.clock.now());
    const crashing: Mailer = {
      ...t.deps.mailer,
      async sendBatch(emails, options) {
        await t.deps.mailer.sendBatch(emails, options);
        throw new Error("process killed");
      },
    };
    let wall = Date.now();
    const wallClock = () => wall;
    await expect(runDispatch({ ...t.deps, mailer: crashing }, { leaseMs: 300, wallClock })).rejects.toThrow("process killed");
    expect(t.resend.emails).toHaveLength(100);

    const meanwhile = await runDispatch(t.deps, { wallClock });
    expect(meanwhile.sent, "the dead pass still holds its leases").toBeLessThanOrEqual(20);
    wall += 350; // its leases run out
    await runDispatch(t.deps, { wallClock });
    expect(t.resend.emails).toHaveLength(120);
    expect(new Set(t.resend.emails.map((e) => e.to[0])).size).toBe(120);
    expect(await t.db.$count(deliveries, eq(deliveries.status, "sent"))).toBe(120);
  });

  it("a pass killed before sending leaves work that the next pass sends once", async () => {
    await createSubscribers(t.db, 10, t.clock.now());
    const dead: Mailer = {
      ...t.deps.mailer,
      async sendBatch() {
        throw new Error("process killed");
      },
    };
    let wall = Date.now();
    const wallClock = () => wall;
    await expect(runDispatch({ ...t.deps, mailer: dead }, { leaseMs: 100, wallClock })).rejects.toThrow();
    expect((await runDispatch(t.deps, { wallClock })).sent, "its leases still hold").toBe(0);
    wall += 150;
    expect((await runDispatch(t.deps, { wallClock })).sent).toBe(10);
    expect(t.resend.emails).toHaveLength(10);
  });

  it("a subscriber deleted between claim and send is skipped without failing the pass", async () => {
    const [gone, ...rest] = await createSubscribers(t.db, 3, t.clock.now());
    const lease = { passId: "p", wallNow: Date.now(), until: Date.now() + 60_000 };
    const claimed = await claimDue(t.db, lease, t.clock.now(), 10);
    await t.db.delete(subscribers).where(eq(subscribers.id, gone!.id));
    const rows = await upsertDeliveries(t.db, claimed, () => crypto.randomUUID(), t.clock.now());
    expect(rows.map((r) => r.subscriberId).sort()).toEqual(rest.map((r) => r.id).sort());
  });

  it("stops at the per-run email budget and leaves the rest for the next pass", async () => {
    await createSubscribers(t.db, 250, t.clock.now());
    const first = await runDispatch(t.deps, { budget: { maxEmails: 150 } });
    expect(first).toMatchObject({ sent: 150, stoppedBy: "emails" });
    expect((await runDispatch(t.deps)).sent).toBe(100);
  });

  it("stops at the per-run subrequest budget, counting every call", async () => {
    await createSubscribers(t.db, 300, t.clock.now());
    const report = await runDispatch(t.deps, { budget: { maxSubrequests: 20 } });
    expect(report.stoppedBy).toBe("subrequests");
    expect(report.calls).toBeLessThanOrEqual(20);
    expect(report.sent).toBeGreaterThan(0);
  });

  it("sends batches of at most 100 emails, each with an idempotency key", async () => {
    await createSubscribers(t.db, 205, t.clock.now());
    await runDispatch(t.deps);
    const calls = t.resend.requests.filter((r) => r.path === "/emails/batch");
    expect(calls.map((c) => c.count)).toEqual([100, 100, 5]);
    expect(calls.every((c) => c.idempotencyKey?.startsWith("lessons-"))).toBe(true);
  });

  it("a dry run lists what is due and changes nothing", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    const before = await enrollment(subscriber.id);
    const due = await listDue(t.db, t.clock.now(), Date.now(), 10);
    expect(due).toEqual([{ subscriberId: subscriber.id, lessonNumber: 1, dueAt: t.clock.now(), timeZone: "UTC" }]);
    expect(await enrollment(subscriber.id)).toEqual(before);
    expect(await t.db.$count(deliveries)).toBe(0);
  });
});

function local(instant: number, zone: string) {
  return DateTime.fromMillis(instant, { zone }).toFormat("yyyy-MM-dd HH:mm");
}
