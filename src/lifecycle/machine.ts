import { MIN_GAP_MS, nextLessonDueAt, nextSendHourAfter, resolveTimeZone, resumeDueAt } from "../drip/schedule";
import { DateTime } from "luxon";

/**
 * The subscriber lifecycle as one transition table over pure functions. No I/O here: `store.ts`
 * reads a snapshot, asks `transition` for the next one and writes it back, conditional on the
 * snapshot it read. The form, the manage page, the webhooks and the dispatcher all go through it.
 *
 * Two records carry the state: the subscriber (consent: pending, active, unsubscribed, bounced,
 * complained; a deleted subscriber has no row) and their enrollment (progress: active, paused,
 * completed, failed, and "left", stored as `stopped`, the name existing rows use). A subscriber's
 * lifecycle state is derived from both (`stateOf`). The enrollment is kept per subscriber today;
 * the functions take the course's shape (`CourseShape`) and the subscriber's send hour as values,
 * so several courses and per-subscriber hours need no change here.
 *
 * Times are milliseconds since the epoch (UTC).
 */

export const SUBSCRIBER_STATUSES = ["pending", "active", "unsubscribed", "bounced", "complained"] as const;
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

/** `stopped` is how a left enrollment is stored (the name rows written by earlier releases carry). */
export const ENROLLMENT_STATES = ["active", "paused", "completed", "failed", "stopped"] as const;
export type EnrollmentState = (typeof ENROLLMENT_STATES)[number];

export const LIFECYCLE_STATES = [
  "deleted",
  "pending",
  "active",
  "paused",
  "completed",
  "failed",
  "left",
  "unsubscribed",
  "bounced",
  "complained",
] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export interface SubscriberFacts {
  status: SubscriberStatus;
  confirmationNonce: number;
  firstName: string | null;
  timeZone: string;
  unsubscribedAt: number | null;
  confirmedAt: number | null;
}

export interface EnrollmentFacts {
  state: EnrollmentState;
  /** Each restart is a new run with its own delivery rows. */
  run: number;
  /** The lesson to send next, 1-based. */
  nextLesson: number;
  nextSendAt: number | null;
  lastSentAt: number | null;
  pausedUntil: number | null;
  startedAt: number;
  completedAt: number | null;
}

export interface Snapshot {
  subscriber: SubscriberFacts | null;
  enrollment: EnrollmentFacts | null;
  /**
   * A lesson of the current run (the one `nextLesson` names) has been handed to the provider and
   * its outcome is not recorded yet: it may arrive whatever happens now.
   */
  inFlight: boolean;
}

/** What the lifecycle needs to know about a course. */
export interface CourseShape {
  lessonCount: number;
  /** Days after the start of the course that lesson `n` is planned for; undefined if no such lesson. */
  dayOffset(lesson: number): number | undefined;
}

export interface Settings {
  now: number;
  /** The subscriber's local send hour (0–23). */
  sendHour: number;
  course: CourseShape;
}

export interface Details {
  firstName: string | null;
  timeZone: string;
}

export type Action =
  | { kind: "signup"; details: Details }
  | { kind: "confirm"; nonce: number; details?: Partial<Details> }
  | { kind: "pauseWeek" }
  | { kind: "pause" }
  | { kind: "resume" }
  | { kind: "restart" }
  | { kind: "unsubscribe" }
  /** Leave this course only (a lesson's one-click unsubscribe); consent and other courses stay. */
  | { kind: "leaveCourse" }
  | { kind: "bounce" }
  | { kind: "complaint" }
  | { kind: "delete" }
  /** A timed pause ran out (the dispatcher notices). */
  | { kind: "wake" }
  /** The provider accepted lesson `lesson` of run `run` at `sentAt`: the person has it. */
  | { kind: "sent"; run: number; lesson: number; sentAt: number }
  /** The provider gave up on the address (attempt cap, or an address it refuses). */
  | { kind: "giveUp" }
  /** The dispatcher claimed the enrollment but it names no lesson that can be sent. */
  | { kind: "unsendable" };
export type ActionKind = Action["kind"];

export type Refusal = "not_found" | "not_subscribed" | "not_confirmed" | "completed" | "invalid";

export type Effect =
  /** Put the address's hash on the suppression list (or strengthen its reason). */
  | { kind: "suppress"; reason: "unsubscribed" | "bounced" | "complained" | "deleted" }
  /** They asked for mail again: lift any suppression. */
  | { kind: "liftSuppression" }
  /** Deliveries of this run still waiting (not yet with the provider) will never be sent. */
  | { kind: "cancelPending"; run: number }
  /** The person's enrollments in every other course stop too (consent withdrawn, address refused). */
  | { kind: "leaveOtherCourses" }
  /** Remove every row about the person. */
  | { kind: "erase" };

export type Outcome =
  | { ok: true; changed: boolean; next: Snapshot; effects: Effect[]; state: LifecycleState }
  | { ok: false; refusal: Refusal };

export const PAUSE_WEEK_MS = 7 * 24 * 60 * 60 * 1000;
/**
 * A restart sends lesson 1 at once only between the send hour and this many hours after it
 * (local time); otherwise at the next local send hour. Nobody gets a lesson at night.
 */
export const SEND_WINDOW_HOURS = 12;

const STOPPED_STATUSES: SubscriberStatus[] = ["unsubscribed", "bounced", "complained"];

/** Whether the person withdrew consent or the address is suppressed (a new signup is needed). */
export function hasLeft(status: SubscriberStatus | string): boolean {
  return (STOPPED_STATUSES as string[]).includes(status);
}

/** The one lifecycle state a snapshot is in. */
export function stateOf(s: Pick<Snapshot, "subscriber" | "enrollment">, course: CourseShape): LifecycleState {
  const { subscriber, enrollment } = s;
  if (!subscriber) return "deleted";
  if (subscriber.status !== "active") return subscriber.status;
  if (!enrollment) return "pending";
  const finished = enrollment.nextLesson > course.lessonCount;
  switch (enrollment.state) {
    case "active":
      return finished ? "completed" : "active";
    case "stopped":
      return finished ? "completed" : "left";
    default:
      return enrollment.state;
  }
}

type Handler = (s: Snapshot, action: Action, settings: Settings) => Outcome;
type Rule = Handler | Refusal | "same";

/** The enrollment fields that go with a subscriber being active or not. */
type Transition = (s: Snapshot, a: Action, settings: Settings) => { subscriber?: Partial<SubscriberFacts> | null; enrollment?: Partial<EnrollmentFacts> | null; effects?: Effect[] };

function apply(fn: Transition): Handler {
  return (s, a, settings) => {
    const change = fn(s, a, settings);
    const subscriber = change.subscriber === null ? null : s.subscriber || change.subscriber ? ({ ...s.subscriber, ...change.subscriber } as SubscriberFacts) : null;
    const enrollment =
      change.enrollment === null ? null : s.enrollment || change.enrollment ? ({ ...s.enrollment, ...change.enrollment } as EnrollmentFacts) : null;
    const next: Snapshot = { subscriber, enrollment, inFlight: s.inFlight };
    const changed = JSON.stringify([s.subscriber, s.enrollment]) !== JSON.stringify([subscriber, enrollment]) || (change.effects?.length ?? 0) > 0;
    return { ok: true, changed, next, effects: change.effects ?? [], state: stateOf(next, settings.course) };
  };
}

/** When the last lesson reached (or may be reaching) the person, for the 20-hour rule. */
function lastLessonAt(s: Snapshot, now: number): number | null {
  return s.inFlight ? now : (s.enrollment?.lastSentAt ?? null);
}

/**
 * When lesson 1 of a new run is due: at once if the 20-hour gap allows and it is daytime at the
 * subscriber's (between the send hour and SEND_WINDOW_HOURS later), else the first local send hour
 * after the gap.
 */
export function restartDueAt(now: number, lastSentAt: number | null, timeZone: string, sendHour: number): number {
  const earliest = lastSentAt === null ? now : Math.max(now, lastSentAt + MIN_GAP_MS);
  if (earliest === now && inSendWindow(now, timeZone, sendHour)) return now;
  return nextSendHourAfter(earliest - 1, timeZone, sendHour);
}

export function inSendWindow(instant: number, timeZone: string, sendHour: number): boolean {
  const local = DateTime.fromMillis(instant, { zone: resolveTimeZone(timeZone) });
  const start = local.startOf("day").set({ hour: sendHour });
  // Yesterday's window may reach past midnight when the send hour is late.
  return [start, start.minus({ days: 1 })].some((s) => instant >= s.toMillis() && instant < s.plus({ hours: SEND_WINDOW_HOURS }).toMillis());
}

/**
 * Lessons continue (after a pause, a failure or coming back) at the next send hour, 20 h after the
 * last, and never before the next lesson's planned day: pausing and resuming at once must not bring
 * a lesson forward.
 */
function continueAt(s: Snapshot, settings: Settings): number {
  const last = lastLessonAt(s, settings.now);
  const zone = s.subscriber!.timeZone;
  if (last === null) return restartDueAt(settings.now, null, zone, settings.sendHour);
  return Math.max(resumeDueAt(settings.now, last, zone, settings.sendHour), plannedAt(s, last, settings));
}

/**
 * When the enrollment's next lesson is planned after a lesson sent at `last` (ms, UTC); 0 if it has
 * no plan, or while a lesson is with the provider (`nextLesson` is still that lesson then, and the
 * "sent" step plans the one after it).
 */
function plannedAt(s: Snapshot, last: number, settings: Settings): number {
  if (s.inFlight) return 0;
  const next = s.enrollment?.nextLesson ?? 1;
  const here = settings.course.dayOffset(next - 1);
  const there = settings.course.dayOffset(next);
  if (here === undefined || there === undefined) return 0;
  return nextLessonDueAt({ lastSentAt: last, daysAfter: there - here, timeZone: s.subscriber!.timeZone, sendHour: settings.sendHour });
}

const NEW_RUN = (s: Snapshot, settings: Settings): Partial<EnrollmentFacts> => ({
  run: (s.enrollment?.run ?? 0) + 1,
  state: "active",
  nextLesson: 1,
  nextSendAt: restartDueAt(settings.now, lastLessonAt(s, settings.now), s.subscriber!.timeZone, settings.sendHour),
  pausedUntil: null,
  startedAt: settings.now,
  completedAt: null,
});

/** Nothing more is sent; a finished course stays finished (so coming back starts a new run). */
const LEAVE_ENROLLMENT = (s: Snapshot, course: CourseShape): Partial<EnrollmentFacts> | undefined => {
  const e = s.enrollment;
  if (!e) return undefined;
  if (e.nextLesson > course.lessonCount || e.state === "completed") {
    return { state: "completed", nextSendAt: null, pausedUntil: null, completedAt: e.completedAt ?? e.lastSentAt ?? e.startedAt };
  }
  return { state: "stopped", nextSendAt: null, pausedUntil: null };
};

// ---- handlers --------------------------------------------------------------------------------

const create = apply((_s, a) => {
  const { details } = a as Extract<Action, { kind: "signup" }>;
  return {
    subscriber: { status: "pending", confirmationNonce: 0, firstName: details.firstName, timeZone: details.timeZone, unsubscribedAt: null, confirmedAt: null },
    enrollment: undefined,
  };
});

/**
 * Back from unsubscribed, bounced or complained: a fresh confirmation is needed (old links die).
 * The stored details stay: anyone can type anyone's address; the owner's confirmation carries theirs.
 */
const signUpAgain = apply((s) => ({ subscriber: { status: "pending", confirmationNonce: s.subscriber!.confirmationNonce + 1 } }));

/** Confirming: active, and the course starts, continues where it stopped, or starts a new run. */
const activate: Handler = (s, a, settings) => {
  const { nonce, details } = a as Extract<Action, { kind: "confirm" }>;
  if (nonce !== s.subscriber!.confirmationNonce) return { ok: false, refusal: "invalid" };
  return apply((snap) => {
    const subscriber: Partial<SubscriberFacts> = {
      status: "active",
      // Joining another course while subscribed: consent was given before, and keeps its date.
      confirmedAt: s.subscriber!.status === "active" ? (s.subscriber!.confirmedAt ?? settings.now) : settings.now,
      unsubscribedAt: null,
      ...(details?.firstName !== undefined && { firstName: details.firstName }),
      ...(details?.timeZone !== undefined && { timeZone: details.timeZone }),
    };
    const withDetails: Snapshot = { ...snap, subscriber: { ...snap.subscriber!, ...subscriber } };
    const e = snap.enrollment;
    let enrollment: Partial<EnrollmentFacts>;
    if (!e) {
      enrollment = { run: 1, state: "active", nextLesson: 1, nextSendAt: settings.now, lastSentAt: null, pausedUntil: null, startedAt: settings.now, completedAt: null };
    } else if (e.nextLesson > settings.course.lessonCount || e.state === "completed") {
      enrollment = NEW_RUN(withDetails, settings);
    } else {
      enrollment = { state: "active", nextSendAt: continueAt(withDetails, settings), pausedUntil: null };
    }
    return { subscriber, enrollment, effects: [{ kind: "liftSuppression" }] };
  })(s, a, settings);
};

const confirmActive: Handler = (s, a, settings) => {
  const { nonce } = a as Extract<Action, { kind: "confirm" }>;
  if (nonce !== s.subscriber!.confirmationNonce) return { ok: false, refusal: "invalid" };
  return same(s, a, settings);
};

const same: Handler = (s, _a, settings) => ({ ok: true, changed: false, next: s, effects: [], state: stateOf(s, settings.course) });

const pauseWeek = apply((s, _a, settings) => {
  const pausedUntil = settings.now + PAUSE_WEEK_MS;
  const last = lastLessonAt(s, settings.now);
  const resumesAt = resumeDueAt(pausedUntil, last, s.subscriber!.timeZone, settings.sendHour);
  return { enrollment: { state: "paused", pausedUntil, nextSendAt: last === null ? resumesAt : Math.max(resumesAt, plannedAt(s, last, settings)) } };
});

const pause = apply(() => ({ enrollment: { state: "paused", pausedUntil: null, nextSendAt: null } }));

const resume = apply((s, _a, settings) => ({ enrollment: { state: "active", pausedUntil: null, nextSendAt: continueAt(s, settings) } }));

/** A new run from lesson 1; asking again while lesson 1 is still to come (a double submit) changes nothing. */
const restart: Handler = (s, a, settings) => {
  const e = s.enrollment!;
  if (e.state === "active" && e.nextLesson === 1 && !s.inFlight) return same(s, a, settings);
  return apply(() => ({ enrollment: NEW_RUN(s, settings), effects: [{ kind: "cancelPending", run: e.run }] }))(s, a, settings);
};

const leave = (status: "unsubscribed" | "bounced" | "complained") =>
  apply((s, _a, settings) => {
    const old = s.subscriber!;
    // A complaint is the strongest word we have; a later bounce does not replace it.
    const next = old.status === "complained" ? "complained" : status;
    const suppress: Effect = { kind: "suppress", reason: next === "unsubscribed" ? "unsubscribed" : next };
    return {
      subscriber: { status: next, unsubscribedAt: hasLeft(old.status) && old.unsubscribedAt !== null ? old.unsubscribedAt : settings.now, confirmationNonce: old.confirmationNonce + 1 },
      enrollment: LEAVE_ENROLLMENT(s, settings.course),
      effects: [suppress, { kind: "leaveOtherCourses" }],
    };
  });

/** This course stops (a finished one stays finished); the person stays subscribed to the sender. */
const leaveCourse = apply((s, _a, settings) => ({ enrollment: LEAVE_ENROLLMENT(s, settings.course) }));

/** Already unsubscribed: repeating it (RFC 8058 clients may) changes nothing. */
const stillLeft: Handler = same;

const suppressOnly = (reason: "bounced" | "complained"): Handler => (s, _a, settings) => ({
  ok: true,
  changed: true,
  next: s,
  effects: [{ kind: "suppress", reason }],
  state: stateOf(s, settings.course),
});

const erase: Handler = (s, _a, settings) => ({
  ok: true,
  changed: true,
  next: { subscriber: null, enrollment: null, inFlight: false },
  effects: [{ kind: "erase" }, { kind: "suppress", reason: "deleted" }],
  state: "deleted",
});

const wake = apply((s, _a, settings) => {
  const e = s.enrollment!;
  if (e.pausedUntil === null || e.pausedUntil > settings.now) return {};
  return { enrollment: { state: "active", pausedUntil: null } };
});

/**
 * The person has lesson `lesson` of run `run`. Normally the enrollment is at that lesson and moves
 * on; if it changed meanwhile (a pause, an unsubscribe, a restart that landed while the lesson
 * was with the provider), the lesson still counts for the 20-hour rule, and the run it belonged to
 * moves past it.
 */
const sent: Handler = (s, a, settings) => {
  const { run, lesson, sentAt } = a as Extract<Action, { kind: "sent" }>;
  const e = s.enrollment;
  if (!e || !s.subscriber) return same(s, a, settings);
  const lastSentAt = Math.max(e.lastSentAt ?? sentAt, sentAt);
  if (e.run === run && e.nextLesson === lesson) {
    return apply(() => ({ enrollment: afterLessonSent(e, s.subscriber!.timeZone, lesson, sentAt, settings) }))(s, a, settings);
  }
  // Another run or lesson is next now: only keep it clear of this lesson.
  const earliest = lastSentAt + MIN_GAP_MS;
  const nextSendAt = e.nextSendAt !== null && e.nextSendAt < earliest ? resumeDueAt(sentAt, lastSentAt, s.subscriber.timeZone, settings.sendHour) : e.nextSendAt;
  return apply(() => ({ enrollment: { lastSentAt, nextSendAt } }))(s, a, settings);
};

/**
 * The enrollment after lesson `lesson` went out at `sentAt`: the next lesson at its planned local
 * day and send hour (never within 20 hours), or completed after the last. A paused or left
 * enrollment moves past the lesson but stays as it is.
 */
export function afterLessonSent(e: EnrollmentFacts, timeZone: string, lesson: number, sentAt: number, settings: Omit<Settings, "now">): Partial<EnrollmentFacts> {
  const { course, sendHour } = settings;
  const lastSentAt = Math.max(e.lastSentAt ?? sentAt, sentAt);
  const here = course.dayOffset(lesson);
  const next = course.dayOffset(lesson + 1);
  if (here === undefined || next === undefined) {
    return { nextLesson: lesson + 1, lastSentAt, state: "completed", nextSendAt: null, pausedUntil: null, completedAt: sentAt };
  }
  const due = nextLessonDueAt({ lastSentAt: sentAt, daysAfter: next - here, timeZone, sendHour });
  if (e.state === "active") return { nextLesson: lesson + 1, lastSentAt, nextSendAt: due };
  if (e.state === "paused" && e.pausedUntil !== null) {
    return { nextLesson: lesson + 1, lastSentAt, nextSendAt: Math.max(due, resumeDueAt(e.pausedUntil, lastSentAt, timeZone, sendHour)) };
  }
  return { nextLesson: lesson + 1, lastSentAt, nextSendAt: null };
}

/** The provider gave up on the address: held until the person (or the operator) tries again. */
export const FAILED_ENROLLMENT = { state: "failed", nextSendAt: null } as const satisfies Partial<EnrollmentFacts>;
const giveUp = apply(() => ({ enrollment: { ...FAILED_ENROLLMENT } }));

/** Claimed with no lesson to send (past the end of the course): it is finished. */
const finish = apply((s, _a, settings) => {
  const e = s.enrollment!;
  if (e.nextLesson <= settings.course.lessonCount) return {};
  return { enrollment: { state: "completed", nextSendAt: null, pausedUntil: null, completedAt: e.completedAt ?? e.lastSentAt ?? settings.now } };
});

// ---- the table -------------------------------------------------------------------------------

const NOT_MINE: Record<"wake" | "sent" | "giveUp" | "unsendable", Rule> = { wake: "same", sent: "same", giveUp: "same", unsendable: "same" };
const ENROLLED = { sent, wake: "same", giveUp: "same", unsendable: finish } satisfies Partial<Record<ActionKind, Rule>>;

/**
 * Every (state, action) pair: a handler, a refusal the page explains, or "same" (nothing changes).
 * Read a row as "in this state, this is what each action does".
 */
export const TABLE: Record<LifecycleState, Record<ActionKind, Rule>> = {
  deleted: {
    signup: create, confirm: "invalid", pauseWeek: "not_found", pause: "not_found", resume: "not_found", restart: "not_found",
    leaveCourse: "not_found", unsubscribe: "not_found", bounce: suppressOnly("bounced"), complaint: suppressOnly("complained"), delete: "not_found", ...NOT_MINE,
  },
  pending: {
    // A pending row keeps its details: only the owner's confirmation link may change them.
    signup: "same", confirm: activate, pauseWeek: "not_confirmed", pause: "not_confirmed", resume: "not_confirmed", restart: "not_confirmed",
    leaveCourse: "same", unsubscribe: leave("unsubscribed"), bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...NOT_MINE, sent,
  },
  active: {
    signup: "same", confirm: confirmActive, pauseWeek, pause, resume: "same", restart,
    leaveCourse, unsubscribe: leave("unsubscribed"), bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...ENROLLED, giveUp,
  },
  paused: {
    signup: "same", confirm: confirmActive, pauseWeek, pause, resume, restart,
    leaveCourse, unsubscribe: leave("unsubscribed"), bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...ENROLLED, wake,
  },
  completed: {
    signup: "same", confirm: confirmActive, pauseWeek: "completed", pause: "completed", resume: "completed", restart,
    leaveCourse: "same", unsubscribe: leave("unsubscribed"), bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...ENROLLED,
  },
  failed: {
    signup: "same", confirm: confirmActive, pauseWeek: "completed", pause: "completed", resume, restart,
    leaveCourse, unsubscribe: leave("unsubscribed"), bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...ENROLLED,
  },
  left: {
    signup: "same", confirm: confirmActive, pauseWeek: "completed", pause: "completed", resume, restart,
    leaveCourse: "same", unsubscribe: leave("unsubscribed"), bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...ENROLLED,
  },
  unsubscribed: {
    signup: signUpAgain, confirm: "invalid", pauseWeek: "not_subscribed", pause: "not_subscribed", resume: "not_subscribed", restart: "not_subscribed",
    leaveCourse: "same", unsubscribe: stillLeft, bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...ENROLLED,
  },
  bounced: {
    signup: signUpAgain, confirm: "invalid", pauseWeek: "not_subscribed", pause: "not_subscribed", resume: "not_subscribed", restart: "not_subscribed",
    leaveCourse: "same", unsubscribe: stillLeft, bounce: leave("bounced"), complaint: leave("complained"), delete: erase, ...ENROLLED,
  },
  complained: {
    signup: signUpAgain, confirm: "invalid", pauseWeek: "not_subscribed", pause: "not_subscribed", resume: "not_subscribed", restart: "not_subscribed",
    leaveCourse: "same", unsubscribe: stillLeft, bounce: leave("complained"), complaint: leave("complained"), delete: erase, ...ENROLLED,
  },
};

/**
 * The next snapshot after `action`, or why the action does not apply. Pure: the same snapshot,
 * action and settings always give the same answer.
 */
export function transition(s: Snapshot, action: Action, settings: Settings): Outcome {
  const rule = TABLE[stateOf(s, settings.course)][action.kind];
  if (rule === "same") return same(s, action, settings);
  if (typeof rule === "string") return { ok: false, refusal: rule };
  return rule(s, action, settings);
}
