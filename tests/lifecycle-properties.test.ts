import fc from "fast-check";
import { DateTime } from "luxon";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LESSON_COUNT } from "../src/course";
import { deleteSubscriber, pauseForWeek, pauseUntilResumed, restart, resume, unsubscribeWithNotice } from "../src/db/controls";
import { confirmSubscriber, findSubscriberByEmail, recordSignup } from "../src/db/subscribers";
import { applyWebhookEvent } from "../src/db/webhooks";
import { runDispatch } from "../src/drip/dispatch";
import { MIN_GAP_MS, nextSendHourAfter } from "../src/drip/schedule";
import { stateOf, transition, type Action, type Snapshot } from "../src/lifecycle/machine";
import { COURSE_SHAPE, readSnapshot } from "../src/lifecycle/store";
import { keyedHash } from "../src/lib/hash";
import { signToken } from "../src/lib/tokens";
import { createSubscriber } from "./support/factories";
import { createTestContext, type TestContext } from "./support/test-app";

/**
 * The subscriber lifecycle under random sequences of everything a person, the provider and the
 * dispatcher can do. The pure model (the transition table plus a model of a dispatcher pass) runs
 * 2,000 sequences; a smaller number run the same steps against the real database, the real
 * dispatcher and the real pages, and must agree with the model after every step.
 *
 * Checked after each step: every scheduled lesson exists; an active course always has its next
 * lesson scheduled; no lesson twice in a run; nothing sent while paused, unsubscribed, suppressed
 * or deleted; scheduled lessons at the local send hour (or lesson 1 at the moment it was asked
 * for, in the daytime); never two lessons within 20 hours; no page names a lesson that cannot come.
 */

const RUNS = { model: 2_000, database: 40 };
const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
const ZONES = ["UTC", "Pacific/Fiji", "America/Los_Angeles", "Europe/Berlin", "Asia/Kolkata", "Pacific/Chatham"];

type Step =
  | { kind: "signup" }
  | { kind: "confirm"; stale: boolean }
  | { kind: "pauseWeek" | "pause" | "resume" | "restart" | "unsubscribe" | "bounce" | "softBounceThenDelivered" | "complaint" | "delete" }
  | { kind: "pass" };

const stepArb: fc.Arbitrary<{ step: Step; waitMs: number }> = fc.record({
  step: fc.oneof(
    { weight: 3, arbitrary: fc.constant<Step>({ kind: "signup" }) },
    { weight: 4, arbitrary: fc.boolean().map<Step>((stale) => ({ kind: "confirm", stale: stale && Math.random() < 0.3 })) },
    { weight: 14, arbitrary: fc.constant<Step>({ kind: "pass" }) },
    {
      weight: 9,
      arbitrary: fc
        .constantFrom("pauseWeek", "pause", "resume", "restart", "unsubscribe", "bounce", "softBounceThenDelivered", "complaint", "delete")
        .map((kind) => ({ kind }) as Step),
    },
  ),
  // Mostly hours, sometimes days: passes land at every local hour, pauses run out, courses finish.
  waitMs: fc.oneof(fc.integer({ min: 0, max: 3 * HOUR }), fc.integer({ min: 0, max: 4 * DAY })),
});

/**
 * Where a sequence starts: nobody yet, or a person as earlier releases stored them — mid-course,
 * finished, or gone after finishing (an enrollment "stopped" past the last lesson, the row behind
 * the "Lesson 7 arrives on …" report).
 */
const originArb = fc.record({
  kind: fc.constantFrom("fresh", "fresh", "mid-course", "finished", "left-after-finishing", "left-mid-course"),
  lesson: fc.integer({ min: 2, max: LESSON_COUNT }),
  daysAgo: fc.integer({ min: 1, max: 30 }),
});
type Origin = typeof originArb extends fc.Arbitrary<infer T> ? T : never;

const sequenceArb = fc.record({
  zone: fc.constantFrom(...ZONES),
  sendHour: fc.integer({ min: 6, max: 10 }),
  start: fc.integer({ min: Date.parse("2026-01-01T00:00:00Z"), max: Date.parse("2026-12-01T00:00:00Z") }),
  origin: originArb,
  steps: fc.array(stepArb, { minLength: 5, maxLength: 50 }),
});

/** The snapshot a sequence starts from (see `originArb`). */
function originSnapshot(origin: Origin, now: number, zone: string, sendHour: number): Snapshot {
  if (origin.kind === "fresh") return { subscriber: null, enrollment: null, inFlight: false };
  const lastSentAt = now - origin.daysAgo * DAY;
  const left = origin.kind.startsWith("left");
  const finished = origin.kind === "finished" || origin.kind === "left-after-finishing";
  const subscriber = { status: left ? "unsubscribed" : "active", confirmationNonce: left ? 1 : 0, firstName: "Ana", timeZone: zone, unsubscribedAt: left ? lastSentAt : null, confirmedAt: 0 } as const;
  const enrollment = {
    state: left ? "stopped" : finished ? "completed" : "active",
    run: 1,
    nextLesson: finished ? LESSON_COUNT + 1 : origin.lesson,
    nextSendAt: left || finished ? null : nextSendHourAfter(now, zone, sendHour),
    lastSentAt,
    pausedUntil: null,
    startedAt: lastSentAt - 10 * DAY,
    completedAt: finished && !left ? lastSentAt : null,
  } as const;
  return { subscriber, enrollment, inFlight: false };
}

interface Sent {
  incarnation: number;
  run: number;
  lesson: number;
  at: number;
}

/** One person in the pure model: their snapshot, the confirmation links they hold, what they got. */
class World {
  snap: Snapshot = { subscriber: null, enrollment: null, inFlight: false };
  incarnation = 0;
  links: number[] = [];
  sent: Sent[] = [];
  /** When the enrollment's current schedule was set, for the send-hour rule. */
  scheduledBy = 0;

  constructor(
    readonly zone: string,
    readonly sendHour: number,
  ) {}

  settings(now: number) {
    return { now, sendHour: this.sendHour, course: COURSE_SHAPE };
  }

  act(action: Action, now: number) {
    const before = this.snap.enrollment?.nextSendAt;
    const out = transition(this.snap, action, this.settings(now));
    if (!out.ok) return out;
    if (action.kind === "signup" && this.snap.subscriber === null) this.incarnation++;
    this.snap = out.next;
    if (this.snap.enrollment?.nextSendAt !== before) this.scheduledBy = now;
    return out;
  }

  /** A dispatcher pass at `now`, as `runDispatch` does it for one subscriber. */
  pass(now: number): Sent | undefined {
    const e = this.snap.enrollment;
    if (e?.state === "paused" && e.pausedUntil !== null && e.pausedUntil <= now) this.act({ kind: "wake" }, now);
    const { subscriber, enrollment } = this.snap;
    if (subscriber?.status !== "active" || enrollment?.state !== "active" || enrollment.nextSendAt === null || enrollment.nextSendAt > now) return;
    if (enrollment.lastSentAt !== null && enrollment.lastSentAt > now - MIN_GAP_MS) return;
    if (enrollment.nextLesson > LESSON_COUNT) {
      this.act({ kind: "unsendable" }, now);
      return;
    }
    const sent = { incarnation: this.incarnation, run: enrollment.run, lesson: enrollment.nextLesson, at: now };
    expect(stateOf(this.snap, COURSE_SHAPE), "only an active course gets lessons").toBe("active");
    this.sent.push(sent);
    this.act({ kind: "sent", run: sent.run, lesson: sent.lesson, sentAt: now }, now);
    return sent;
  }

  /** The nonce a confirmation link carries: the latest one, or sometimes an older one. */
  linkNonce(stale: boolean): number | undefined {
    return stale ? this.links[0] : this.links.at(-1);
  }
}

function actionFor(step: Step, zone: string): Action | undefined {
  switch (step.kind) {
    case "signup":
      return { kind: "signup", details: { firstName: "Ana", timeZone: zone } };
    case "softBounceThenDelivered":
    case "pass":
    case "confirm":
      return undefined;
    default:
      return { kind: step.kind };
  }
}

function checkInvariants(w: World, now: number) {
  const { enrollment } = w.snap;
  const state = stateOf(w.snap, COURSE_SHAPE);
  if (enrollment?.nextSendAt != null) {
    expect(enrollment.nextLesson, "a scheduled lesson exists").toBeGreaterThanOrEqual(1);
    expect(enrollment.nextLesson, "a scheduled lesson exists").toBeLessThanOrEqual(LESSON_COUNT);
    const local = DateTime.fromMillis(enrollment.nextSendAt, { zone: w.zone });
    const atSendHour = local.hour === w.sendHour && local.minute === 0 && local.second === 0;
    const lessonOneNow = enrollment.nextLesson === 1 && enrollment.nextSendAt === w.scheduledBy;
    expect(atSendHour || lessonOneNow, `scheduled at ${local.toISO()} (send hour ${w.sendHour})`).toBe(true);
  }
  if (state === "active") expect(enrollment?.nextSendAt, "an active course has its next lesson scheduled").not.toBeNull();
  if (state === "paused" && enrollment?.pausedUntil === null) expect(enrollment.nextSendAt, "nothing scheduled until resumed").toBeNull();
  if (["unsubscribed", "bounced", "complained", "deleted", "completed", "left"].includes(state)) {
    expect(enrollment?.nextSendAt ?? null, `nothing scheduled when ${state}`).toBeNull();
  }
  const seen = new Set<string>();
  const mine = w.sent.filter((s) => s.incarnation === w.incarnation);
  for (const s of mine) {
    const key = `${s.run}:${s.lesson}`;
    expect(seen.has(key), `lesson ${key} twice`).toBe(false);
    seen.add(key);
  }
  for (let i = 1; i < mine.length; i++) expect(mine[i]!.at - mine[i - 1]!.at, "20 hours between lessons").toBeGreaterThanOrEqual(MIN_GAP_MS);
  expect(now).toBeGreaterThanOrEqual(0);
}

/** Runs one step in the model; returns what the database run must reproduce. */
function modelStep(w: World, step: Step, now: number): { sent?: Sent; confirmed?: boolean } {
  if (step.kind === "pass") return { sent: w.pass(now) };
  if (step.kind === "confirm") {
    const nonce = w.linkNonce(step.stale);
    if (nonce === undefined || w.snap.subscriber === null) return {};
    const out = w.act({ kind: "confirm", nonce }, now);
    if (out.ok && out.changed) {
      // What the confirmation page then announces must come.
      const e = w.snap.enrollment!;
      expect(e.nextLesson).toBeLessThanOrEqual(LESSON_COUNT);
      expect(e.nextSendAt).not.toBeNull();
      return { confirmed: true };
    }
    return { confirmed: false };
  }
  const action = actionFor(step, w.zone);
  if (!action) return {};
  if (action.kind === "delete") w.links = [];
  const out = w.act(action, now);
  // A signup that leaves the subscriber pending sends a confirmation email with the current nonce.
  if (action.kind === "signup" && out.ok && w.snap.subscriber?.status === "pending") w.links.push(w.snap.subscriber.confirmationNonce);
  return {};
}

describe("the subscriber lifecycle, as a model", () => {
  it(`${RUNS.model} random sequences of every action keep every promise`, () => {
    fc.assert(
      fc.property(sequenceArb, ({ zone, sendHour, start, origin, steps }) => {
        const w = new World(zone, sendHour);
        w.snap = originSnapshot(origin, start, zone, sendHour);
        w.incarnation = 1;
        w.scheduledBy = start;
        let now = start;
        for (const { step, waitMs } of steps) {
          now += waitMs;
          modelStep(w, step, now);
          checkInvariants(w, now);
        }
      }),
      { numRuns: RUNS.model },
    );
  });
});

describe("the subscriber lifecycle, in the database", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext();
  });
  afterAll(async () => t.close());

  const dbSequence = fc.record({ zone: fc.constantFrom(...ZONES), origin: originArb, steps: fc.array(stepArb, { minLength: 5, maxLength: 20 }) });

  it(`${RUNS.database} random sequences against the real database, dispatcher and pages agree with the model`, async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(dbSequence, async ({ zone, origin, steps }) => {
        const email = `person${n++}@example.com`;
        const w = new World(zone, t.config.sendHour);
        const hash = (address: string) => keyedHash(t.config.appSecret, address);
        w.snap = originSnapshot(origin, t.clock.now(), zone, t.config.sendHour);
        w.incarnation = 1;
        w.scheduledBy = t.clock.now();
        let id: string | undefined;
        if (w.snap.subscriber && w.snap.enrollment) {
          const { status, confirmationNonce, unsubscribedAt } = w.snap.subscriber;
          id = (await createSubscriber(t.db, t.clock.now(), { email, timeZone: zone, status, confirmationNonce, unsubscribedAt }, { ...w.snap.enrollment })).id;
        }
        let event = 0;
        for (const { step, waitMs } of steps) {
          t.clock.advance(waitMs);
          const now = t.clock.now();
          const before = t.resend.emailsTo(email).length;
          const expected = modelStep(w, step, now);
          const schedule = { now, sendHour: t.config.sendHour };
          switch (step.kind) {
            case "signup":
              id = (await recordSignup(t.db, { email, firstName: "Ana", timeZone: zone }, now))?.id;
              break;
            case "confirm": {
              const nonce = w.linkNonce(step.stale);
              if (id && nonce !== undefined) {
                const outcome = await confirmSubscriber(t.db, id, nonce, await hash(email), now, schedule);
                if (expected.confirmed !== undefined) expect(outcome === "confirmed").toBe(expected.confirmed);
              }
              break;
            }
            case "pass":
              await runDispatch(t.deps);
              break;
            case "pauseWeek":
              if (id) await pauseForWeek(t.db, id, schedule);
              break;
            case "pause":
              if (id) await pauseUntilResumed(t.db, id, schedule);
              break;
            case "resume":
              if (id) await resume(t.db, id, schedule);
              break;
            case "restart":
              if (id) await restart(t.db, id, schedule);
              break;
            case "unsubscribe":
              if (id) await unsubscribeWithNotice(t.db, id, now, t.config.appSecret);
              break;
            case "delete":
              if (id) await deleteSubscriber(t.db, id, now, t.config.appSecret);
              id = undefined;
              break;
            case "bounce":
            case "complaint":
            case "softBounceThenDelivered": {
              const emailId = t.resend.emailsTo(email).at(-1)?.id;
              const record = (type: string) => ({ id: `evt-${n}-${event++}`, type, receivedAt: now });
              if (step.kind === "softBounceThenDelivered") {
                await applyWebhookEvent(t.db, record("email.bounced"), { kind: "status", emailId, status: "bounced", note: "bounce: Transient/General" }, hash);
                await applyWebhookEvent(t.db, record("email.delivered"), { kind: "status", emailId, status: "delivered" }, hash);
              } else {
                const reason = step.kind === "bounce" ? "bounced" : "complained";
                await applyWebhookEvent(t.db, record(`email.${reason}`), { kind: "suppress", reason, emailId, to: email }, hash);
              }
              break;
            }
          }
          // The database says what the model says.
          const actual = id ? (await readSnapshot(t.db, id)).snapshot : { subscriber: null, enrollment: null };
          expect(pick(actual), `after ${step.kind}`).toEqual(pick(w.snap));
          expect(t.resend.emailsTo(email).length - before, `lessons sent by ${step.kind}`).toBe(expected.sent ? 1 : 0);
          checkInvariants(w, now);
          if (id) await checkManagePage(t, id);
        }
        if (id) await deleteSubscriber(t.db, id, t.clock.now(), t.config.appSecret);
        expect(await findSubscriberByEmail(t.db, email)).toBeUndefined();
      }),
      { numRuns: RUNS.database },
    );
  });
});

function pick(s: Pick<Snapshot, "subscriber" | "enrollment">) {
  const e = s.enrollment;
  return {
    status: s.subscriber?.status ?? null,
    nonce: s.subscriber?.confirmationNonce ?? null,
    enrollment: e && { state: e.state, run: e.run, nextLesson: e.nextLesson, nextSendAt: e.nextSendAt, lastSentAt: e.lastSentAt, pausedUntil: e.pausedUntil },
  };
}

/** The manage page names only lessons that exist, and a next lesson only when one will come. */
async function checkManagePage(t: TestContext, subscriberId: string) {
  const token = await signToken(t.config.appSecret, { purpose: "manage", subscriberId });
  const res = await t.app.request(`/manage/${token}`);
  expect(res.status).toBe(200);
  const html = await res.text();
  for (const match of html.matchAll(/Lesson (\d+) of (\d+)/g)) expect(Number(match[1])).toBeLessThanOrEqual(LESSON_COUNT);
  const { snapshot } = await readSnapshot(t.db, subscriberId);
  if (/<dt>Next<\/dt>/.test(html)) {
    const state = stateOf(snapshot, COURSE_SHAPE);
    expect(["active", "paused"], `the page promises a lesson while ${state}`).toContain(state);
  }
}
