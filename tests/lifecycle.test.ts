import { signedSubscriberLinks } from "../src/lib/links";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LESSON_COUNT } from "../src/course";
import { enrollments, subscribers } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { LIFECYCLE_STATES, TABLE, restartDueAt, transition, type Action, type Snapshot } from "../src/lifecycle/machine";
import { COURSE_SHAPE } from "../src/lifecycle/store";
import type { CapturedEmail } from "./support/fake-resend";
import { confirmByClick, signUp } from "./support/signup";
import { pauseForWeek, restart } from "../src/db/controls";
import { openDatabase } from "../src/node-deps";
import { createSubscriber } from "./support/factories";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const MONDAY_NOON = Date.parse("2026-03-02T12:00:00Z");

function snapshot(over: { subscriber?: Partial<NonNullable<Snapshot["subscriber"]>>; enrollment?: Partial<NonNullable<Snapshot["enrollment"]>> | null } = {}): Snapshot {
  return {
    subscriber: { status: "active", confirmationNonce: 0, firstName: "Ana", timeZone: "UTC", unsubscribedAt: null, confirmedAt: 0, ...over.subscriber },
    enrollment:
      over.enrollment === null
        ? null
        : { state: "active", run: 1, nextLesson: 2, nextSendAt: MONDAY_NOON, lastSentAt: MONDAY_NOON - 2 * DAY, pausedUntil: null, startedAt: 0, completedAt: null, ...over.enrollment },
    inFlight: false,
  };
}

const settings = (now = MONDAY_NOON) => ({ now, sendHour: 8, course: COURSE_SHAPE });

describe("the transition table", () => {
  it("names an outcome for every action in every state", () => {
    const actions: Action["kind"][] = ["signup", "confirm", "pauseWeek", "pause", "resume", "restart", "unsubscribe", "bounce", "complaint", "delete", "wake", "sent", "giveUp", "unsendable"];
    for (const state of LIFECYCLE_STATES) for (const action of actions) expect(TABLE[state][action], `${state} × ${action}`).toBeDefined();
  });

  it("an enrollment past the last lesson is completed, whatever its stored state says", () => {
    const broken = snapshot({ subscriber: { status: "pending", confirmationNonce: 3 }, enrollment: { state: "stopped", nextLesson: LESSON_COUNT + 1, nextSendAt: null } });
    const out = transition(broken, { kind: "confirm", nonce: 3 }, settings());
    expect(out.ok && out.next.enrollment).toMatchObject({ run: 2, nextLesson: 1, state: "active" });
  });

  it("unsubscribing from a finished course keeps it finished, so coming back starts a new run", () => {
    const done = snapshot({ enrollment: { state: "completed", nextLesson: LESSON_COUNT + 1, nextSendAt: null } });
    const out = transition(done, { kind: "unsubscribe" }, settings());
    expect(out.ok && out.next.enrollment?.state).toBe("completed");
  });

  it("leaving mid-course and confirming again continues at the lesson where it stopped", () => {
    const left = snapshot({ subscriber: { status: "pending", confirmationNonce: 1 }, enrollment: { state: "stopped", nextLesson: 4, nextSendAt: null } });
    const out = transition(left, { kind: "confirm", nonce: 1 }, settings());
    expect(out.ok && out.next.enrollment).toMatchObject({ run: 1, nextLesson: 4, state: "active", nextSendAt: Date.parse("2026-03-03T08:00:00Z") });
  });

  it("a restart while a lesson is with the provider counts that lesson as just sent", () => {
    const busy = { ...snapshot({ enrollment: { lastSentAt: MONDAY_NOON - 3 * DAY } }), inFlight: true };
    const out = transition(busy, { kind: "restart" }, settings());
    // 20 hours after Monday noon is Tuesday 08:00 exactly: that send hour.
    expect(out.ok && out.next.enrollment?.nextSendAt).toBe(Date.parse("2026-03-03T08:00:00Z"));
  });

  it("a complaint is never weakened by a later bounce", () => {
    const complained = snapshot({ subscriber: { status: "complained" }, enrollment: { state: "stopped", nextSendAt: null } });
    const out = transition(complained, { kind: "bounce" }, settings());
    expect(out.ok && out.next.subscriber?.status).toBe("complained");
  });
});

describe("pausing never brings a lesson forward", () => {
  // Lesson 3 (day 4) follows lesson 2 (day 2) two days later: sent Monday 08:00, due Wednesday 08:00.
  const afterLesson2 = () => snapshot({ enrollment: { nextLesson: 3, lastSentAt: Date.parse("2026-03-02T08:00:00Z"), nextSendAt: Date.parse("2026-03-04T08:00:00Z") } });

  it("pause and resume at once: the next lesson stays on its planned day", () => {
    const paused = transition(afterLesson2(), { kind: "pause" }, settings());
    if (!paused.ok) throw new Error(paused.refusal);
    const resumed = transition(paused.next, { kind: "resume" }, settings(MONDAY_NOON + 60_000));
    expect(resumed.ok && resumed.next.enrollment?.nextSendAt).toBe(Date.parse("2026-03-04T08:00:00Z"));
  });

  it("paused and resumed while a lesson is with the provider: a retry of that lesson is not held back by the gap before it", () => {
    // Lesson 3 is being sent (Wednesday 08:00); the 20-hour rule alone applies: Thursday 08:00.
    const sending = { ...snapshot({ enrollment: { nextLesson: 3, lastSentAt: Date.parse("2026-03-02T08:00:00Z"), nextSendAt: null } }), inFlight: true };
    const wednesday = Date.parse("2026-03-04T08:00:05Z");
    const paused = transition(sending, { kind: "pause" }, settings(wednesday));
    if (!paused.ok) throw new Error(paused.refusal);
    const resumed = transition({ ...paused.next, inFlight: true }, { kind: "resume" }, settings(wednesday + 1000));
    expect(resumed.ok && resumed.next.enrollment?.nextSendAt).toBe(Date.parse("2026-03-05T08:00:00Z"));
  });

  it("resumed after the planned day, the lesson comes at the next send hour", () => {
    const paused = transition(afterLesson2(), { kind: "pause" }, settings());
    if (!paused.ok) throw new Error(paused.refusal);
    const resumed = transition(paused.next, { kind: "resume" }, settings(Date.parse("2026-03-06T12:00:00Z")));
    expect(resumed.ok && resumed.next.enrollment?.nextSendAt).toBe(Date.parse("2026-03-07T08:00:00Z"));
  });
});

describe("restart keeps the local hour", () => {
  it("at 04:09 in Pacific/Fiji lesson 1 waits for 08:00 there", () => {
    const now = Date.parse("2026-03-04T16:09:00Z"); // 04:09 on Thursday in Fiji
    expect(new Date(restartDueAt(now, now - 3 * DAY, "Pacific/Fiji", 8)).toISOString()).toBe("2026-03-04T20:00:00.000Z");
  });

  it("in the daytime, with the last lesson long ago, lesson 1 goes at once", () => {
    const now = Date.parse("2026-03-04T22:30:00Z"); // 10:30 in Fiji
    expect(restartDueAt(now, now - 3 * DAY, "Pacific/Fiji", 8)).toBe(now);
  });

  it("within 20 hours of the last lesson, it waits for the first send hour after them", () => {
    const last = Date.parse("2026-03-02T09:00:00Z");
    expect(new Date(restartDueAt(last + HOUR, last, "UTC", 8)).toISOString()).toBe("2026-03-03T08:00:00.000Z");
  });
});

describe("conditional writes", () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(async () => t.close());

  it("a restart submitted twice at once, from two connections, starts one new run", async () => {
    const s = await createSubscriber(t.db, t.clock.now(), {}, { nextLesson: 3, lastSentAt: t.clock.now() - 3 * DAY });
    const file = (await t.db.$client.execute("PRAGMA database_list")).rows[0]!.file as string;
    const other = await openDatabase(`file:${file}`);
    try {
      const schedule = { now: t.clock.now(), sendHour: 8 };
      const results = await Promise.all([restart(t.db, s.id, schedule), restart(other.db, s.id, schedule)]);
      expect(results.every((r) => r.ok)).toBe(true);
      expect(await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, s.id) })).toMatchObject({ run: 2, nextLesson: 1 });
    } finally {
      other.client.close();
    }
  });

  it("a pause computed from a row the dispatcher has since advanced is computed again from the new row", async () => {
    const s = await createSubscriber(t.db, t.clock.now());
    // The pass sends lesson 1 while the pause is in progress: whichever lands first, the pause
    // ends up scheduling lesson 2 from lesson 1's real send time.
    await Promise.all([runDispatch(t.deps), pauseForWeek(t.db, s.id, { now: t.clock.now(), sendHour: 8 })]);
    const e = (await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, s.id) }))!;
    expect(e.state).toBe("paused");
    if (e.lastSentAt !== null) expect(e.nextSendAt! - e.lastSentAt).toBeGreaterThanOrEqual(20 * HOUR);
  });
});

describe("coming back after finishing the course", () => {
  let t: TestContext;
  beforeEach(async () => {
    t = await createTestContext();
  });
  afterEach(async () => t.close());

  const path = (url: string) => url.replace(TEST_APP_URL, "");
  const lessons = (email: string) =>
    t.resend.emailsTo(email).filter((e: CapturedEmail) => e.tags?.some((tag) => tag.name === "category" && tag.value === "lesson"));

  async function confirmLatest(email: string) {
    const confirmation = t.resend.emailsTo(email).at(-1)!;
    return confirmByClick(t.app, linkIn(confirmation.text, `${TEST_APP_URL}/confirm?token=`));
  }

  it("finish, stop all email, sign up again, confirm: lesson 1 of a new run, and the page says so", async () => {
    const email = "again-from-one@example.com";
    await signUp(t, { email, firstName: "Ana", timeZone: "UTC" });
    await confirmLatest(email);
    for (let i = 0; i < 16 * 24; i++) {
      await runDispatch(t.deps);
      t.clock.advance(HOUR);
    }
    expect(lessons(email)).toHaveLength(LESSON_COUNT);
    // The unsubscribe link without a course (as lessons of earlier releases carried) stops all email.
    const person = (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) }))!;
    const { unsubscribeUrl } = await signedSubscriberLinks(TEST_APP_URL, t.config.appSecret, person.id);
    expect((await t.app.request(path(unsubscribeUrl), form({ "List-Unsubscribe": "One-Click" }))).status).toBe(200);

    t.clock.advance(2 * DAY);
    await signUp(t, { email, firstName: "Ana", timeZone: "UTC" });
    const page = await (await confirmLatest(email)).text();
    expect(page).not.toMatch(new RegExp(`Lesson ${LESSON_COUNT + 1}`));
    expect(page).toContain("Lesson 1");

    const subscriber = (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) }))!;
    const enrollment = (await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriber.id) }))!;
    expect(enrollment).toMatchObject({ run: 2, nextLesson: 1, state: "active" });
    t.clock.set(enrollment.nextSendAt!);
    const report = await runDispatch(t.deps);
    expect(report).toMatchObject({ sent: 1, claimed: 1 });
    expect(lessons(email).map((e) => e.subject).at(-1)).toBe(lessons(email)[0]!.subject);
  });
});
