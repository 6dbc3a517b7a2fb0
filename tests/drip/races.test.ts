import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LESSON_COUNT } from "../../src/course";
import { pauseUntilResumed, restart, resume, unsubscribeWithNotice } from "../../src/db/controls";
import { enrollments } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { nextSendHourAfter } from "../../src/drip/schedule";
import type { Logger } from "../../src/lib/logger";
import { createSubscriber, createSubscribers } from "../support/factories";
import { signFormToken } from "../../src/lib/form-token";
import { signToken } from "../../src/lib/tokens";
import { createTestContext, form, TEST_APP_URL, type TestContext } from "../support/test-app";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => t.close());

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const schedule = () => ({ now: t.clock.now(), sendHour: t.config.sendHour });
const lessonsTo = (email: string) => t.resend.emailsTo(email).map((e) => Number(e.tags?.find((tag) => tag.name === "lesson")?.value));

describe("a pass can never spin", () => {
  it("with a hundred rows past the last lesson, one pass still sends everyone else's lesson, and finishes the broken rows", async () => {
    const now = t.clock.now();
    // Rows an earlier release left behind: active, "due" since yesterday, at a lesson that does not exist.
    for (let i = 0; i < 100; i++) {
      await createSubscriber(t.db, now, {}, { nextLesson: LESSON_COUNT + 1, nextSendAt: now - DAY, lastSentAt: now - 3 * DAY, run: 1 });
    }
    const good = await createSubscribers(t.db, 150, now);
    const warnings: string[] = [];
    const logger: Logger = { info() {}, warn: (event) => void warnings.push(event), error: (event) => void warnings.push(event) };

    const report = await runDispatch({ ...t.deps, logger });
    expect(report).toMatchObject({ sent: 150, unsendable: 100, claimed: 250, stoppedBy: "done" });
    for (const s of good) expect(t.resend.emailsTo(s.email)).toHaveLength(1);
    expect(warnings).toContain("dispatch_unsendable");
    expect(await t.db.$count(enrollments, eq(enrollments.state, "completed"))).toBe(100);
    expect((await runDispatch(t.deps)).claimed, "nothing broken is due any more").toBe(0);
  });
});

describe("controls win races, or say so", () => {
  it("a pause acknowledged while the pass waits out a short 429 stops the lesson", async () => {
    const rows = await createSubscribers(t.db, 100, t.clock.now());
    t.resend.failNext(429, { headers: { "retry-after": "1" }, body: { statusCode: 429, name: "rate_limit_exceeded", message: "Too many requests" } });
    const acknowledged: boolean[] = [];
    const report = await runDispatch(t.deps, {
      // Everyone pauses during the wait, each pause acknowledged before the pass asks again.
      sleep: async () => {
        for (const s of rows) acknowledged.push((await pauseUntilResumed(t.db, s.id, schedule())).ok);
      },
    });
    expect(acknowledged.filter(Boolean)).toHaveLength(100);
    expect(report.sent).toBe(0);
    expect(t.resend.emails).toHaveLength(0);
  });

  it("unsubscribes landing throughout a pipelined pass either stop the lesson or are told it may still arrive", async () => {
    const rows = await createSubscribers(t.db, 200, t.clock.now());
    const acknowledged = new Map<string, { told: boolean; hadLessons: number }>();
    const pass = runDispatch(t.deps, { batchSize: 50 });
    for (const s of [...rows].sort(() => Math.random() - 0.5)) {
      const { onItsWay } = await unsubscribeWithNotice(t.db, s.id, t.clock.now(), t.config.appSecret);
      // What the provider had accepted for them when the unsubscribe was acknowledged.
      acknowledged.set(s.email, { told: onItsWay, hadLessons: t.resend.emailsTo(s.email).length });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await pass;
    // Nothing reaches the provider after an acknowledged unsubscribe unless the page said it might.
    for (const s of rows) {
      const { told, hadLessons } = acknowledged.get(s.email)!;
      if (!told) expect(t.resend.emailsTo(s.email).length, s.email).toBe(hadLessons);
    }
  });

  it("an unsubscribe while the lesson is with a slow provider is told one lesson may still arrive, and nothing after it", async () => {
    const s = await createSubscriber(t.db, t.clock.now());
    const held = t.resend.holdNext();
    const pass = runDispatch(t.deps);
    await held.arrived;
    const { outcome, onItsWay } = await unsubscribeWithNotice(t.db, s.id, t.clock.now(), t.config.appSecret);
    expect({ outcome, onItsWay }).toEqual({ outcome: "unsubscribed", onItsWay: true });
    held.release();
    await pass;
    expect(lessonsTo(s.email)).toEqual([1]);
    t.clock.advance(10 * DAY);
    await runDispatch(t.deps);
    expect(lessonsTo(s.email)).toEqual([1]);
  });

  it("a pause from the manage page while the lesson is with the provider: the page says it may still arrive", async () => {
    const s = await createSubscriber(t.db, t.clock.now());
    const token = await signToken(t.config.appSecret, { purpose: "manage", subscriberId: s.id });
    const held = t.resend.holdNext();
    const pass = runDispatch(t.deps);
    await held.arrived;
    const csrf = await signFormToken(t.config.appSecret, s.id, "manage", t.clock.now());
    const res = await t.app.request(`/manage/${token}/pause`, { ...form({ csrf }), headers: { "content-type": "application/x-www-form-urlencoded", origin: TEST_APP_URL } });
    expect(res.status).toBe(303);
    const page = await (await t.app.request(res.headers.get("location")!)).text();
    expect(page).toContain("may still arrive");
    held.release();
    await pass;
    const after = await (await t.app.request(`/manage/${token}`)).text();
    expect(after, "once recorded, the lesson has arrived: no notice, and lesson 2 is next").not.toContain("may still arrive");
    expect(after).toContain("Lesson 2 of");

    // Resuming continues with lesson 2, at a send hour at least 20 hours after lesson 1 went out.
    const sentAt = t.clock.now();
    expect((await resume(t.db, s.id, schedule())).ok).toBe(true);
    for (let hour = 0; hour < 48; hour++) {
      t.clock.advance(HOUR);
      await runDispatch(t.deps);
    }
    expect(lessonsTo(s.email)).toEqual([1, 2]);
    const e = (await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, s.id) }))!;
    expect(e.lastSentAt! - sentAt).toBeGreaterThanOrEqual(20 * HOUR);
  });

  it("a pause on a quiet moment gets no such notice", async () => {
    const s = await createSubscriber(t.db, t.clock.now());
    const result = await pauseUntilResumed(t.db, s.id, schedule());
    expect(result).toEqual({ ok: true, onItsWay: false });
  });

  it("a restart racing a pass that is sending lesson 2 schedules the new lesson 1 at a send hour 20 hours later", async () => {
    const now = t.clock.now();
    const s = await createSubscriber(t.db, now, {}, { nextLesson: 2, lastSentAt: now - 3 * DAY, nextSendAt: now });
    const held = t.resend.holdNext();
    const pass = runDispatch(t.deps);
    await held.arrived;
    t.clock.advance(5_000);
    const restartAt = t.clock.now();
    expect((await restart(t.db, s.id, schedule())).ok).toBe(true);
    // Lesson 2 is with the provider: it counts as sent now, so lesson 1 waits for the first send
    // hour 20 hours from now (Wednesday 08:00 UTC), not "at once" from a stale last-sent time.
    const due = nextSendHourAfter(restartAt + 20 * HOUR - 1, "UTC", t.config.sendHour);
    expect((await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, s.id) }))?.nextSendAt).toBe(due);
    held.release();
    await pass;

    const sent: number[] = [];
    for (let hour = 0; hour < 3 * 24; hour++) {
      const before = t.resend.emails.length;
      await runDispatch(t.deps);
      if (t.resend.emails.length > before) sent.push(t.clock.now());
      t.clock.advance(HOUR);
    }
    expect(lessonsTo(s.email).slice(0, 2)).toEqual([2, 1]);
    expect(sent[0]! - restartAt).toBeGreaterThanOrEqual(20 * HOUR);
    expect(sent[0]! - due).toBeLessThan(HOUR);
  });
});
