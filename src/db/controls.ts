import { and, eq, sql } from "drizzle-orm";
import { hasLeft, PAUSE_WEEK_MS, type Action, type Refusal as LifecycleRefusal } from "../lifecycle/machine";
import type { Course } from "../course/course";
import { forCourse, step, type StoreContext } from "../lifecycle/store";
import { keyedHash } from "../lib/hash";
import type { Db } from "./client";
import { DEFAULT_COURSE_SLUG, deliveries } from "./schema";
import { findEnrollment, findSubscriber, type Enrollment, type Subscriber } from "./subscribers";

/**
 * What a subscriber can do from the manage and unsubscribe pages. No HTTP here: the routes verify
 * the token, call one of these and map the outcome to a page. Each is one step of the lifecycle
 * (src/lifecycle): its write is conditional on the state it read and drops any dispatcher lease,
 * and the dispatcher re-checks the state in the same statement that marks a lesson as going out.
 * So a control either lands before that mark and wins, or after it, and then `onItsWay` says that
 * the one lesson already handed to the provider may still arrive.
 */

export { PAUSE_WEEK_MS };

export interface Subscription {
  subscriber: Subscriber;
  enrollment: Enrollment | undefined;
}

/** The subscriber and their enrollment in `course` (a slug; default: the default course). */
export async function findSubscription(db: Db, subscriberId: string, course: string = DEFAULT_COURSE_SLUG): Promise<Subscription | undefined> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber) return undefined;
  return { subscriber, enrollment: await findEnrollment(db, subscriberId, course) };
}

/**
 * Why an action was refused: the subscriber is gone, has unsubscribed, has signed up again but not
 * yet confirmed, or the course is in a state where the action means nothing.
 */
export type Refusal = "not_found" | "not_subscribed" | "not_confirmed" | "completed";

/** `onItsWay`: a lesson had already been handed to the provider when the action landed. */
export type ControlResult = { ok: true; onItsWay: boolean } | { ok: false; reason: Refusal };

interface ScheduleSettings {
  now: number;
  sendHour: number;
  /** The course whose enrollment the control acts on; default: the default course. */
  course?: Course;
}

const NO_SUPPRESSION = async () => {
  throw new Error("controls other than unsubscribe and delete write no suppression");
};

async function control(db: Db, subscriberId: string, action: Action, { now, sendHour, course }: ScheduleSettings): Promise<ControlResult> {
  const ctx: StoreContext = { now, sendHour: course?.sendHour ?? sendHour, emailHash: NO_SUPPRESSION, ...(course && forCourse(course)) };
  const result = await step(db, subscriberId, action, ctx);
  if (!result.ok) return { ok: false, reason: refusal(result.refusal) };
  return { ok: true, onItsWay: result.changed && result.before.inFlight };
}

const refusal = (r: LifecycleRefusal): Refusal => (r === "invalid" ? "not_confirmed" : r);

/**
 * Nothing is sent for seven days; the dispatcher wakes the enrollment when `pausedUntil` passes,
 * and the next lesson is already scheduled for the first local send hour after that (and not
 * within 20 hours of the previous lesson).
 */
export function pauseForWeek(db: Db, subscriberId: string, schedule: ScheduleSettings): Promise<ControlResult> {
  return control(db, subscriberId, { kind: "pauseWeek" }, schedule);
}

/** Nothing is scheduled until the subscriber resumes. */
export function pauseUntilResumed(db: Db, subscriberId: string, schedule: ScheduleSettings | number): Promise<ControlResult> {
  return control(db, subscriberId, { kind: "pause" }, typeof schedule === "number" ? { now: schedule, sendHour: 0 } : schedule);
}

/**
 * Lessons start again at the next local send hour, never within 20 hours of the last one, so
 * coming back does not trigger a burst of catch-up lessons. Resuming an active course changes
 * nothing; resuming a failed one (the provider gave up on an address) tries again.
 */
export function resume(db: Db, subscriberId: string, schedule: ScheduleSettings): Promise<ControlResult> {
  return control(db, subscriberId, { kind: "resume" }, schedule);
}

/**
 * A new run of the course from lesson 1, as long as the person is subscribed: at once in the
 * daytime if the last lesson is 20 hours old, else at the next local send hour after that. A
 * lesson of the old run already with the provider counts as just sent.
 */
export function restart(db: Db, subscriberId: string, schedule: ScheduleSettings): Promise<ControlResult> {
  return control(db, subscriberId, { kind: "restart" }, schedule);
}

export type UnsubscribeOutcome = "unsubscribed" | "already_unsubscribed" | "not_found";

/**
 * Leaves one course (the one-click `List-Unsubscribe` of its lessons): that enrollment stops (a
 * finished one stays completed); consent and every other course are untouched. Repeating it
 * changes nothing. `onItsWay`: a lesson of this course was already with the provider.
 */
export async function leaveCourse(db: Db, subscriberId: string, course: Course, now: number): Promise<{ outcome: UnsubscribeOutcome; onItsWay: boolean }> {
  const result = await step(db, subscriberId, { kind: "leaveCourse" }, { now, sendHour: 0, emailHash: NO_SUPPRESSION, ...forCourse(course) });
  if (!result.ok) return { outcome: "not_found", onItsWay: false };
  return { outcome: result.changed ? "unsubscribed" : "already_unsubscribed", onItsWay: result.changed && result.before.inFlight };
}

/**
 * Stops all mail at once: the subscriber is marked unsubscribed, the enrollment left (a finished
 * one stays completed), the address hash goes on the suppression list, and confirmation links sent
 * before now stop working. Repeating it changes nothing (RFC 8058 clients may POST more than once).
 */
export async function unsubscribe(db: Db, subscriberId: string, now: number, appSecret: string): Promise<UnsubscribeOutcome> {
  return (await unsubscribeWithNotice(db, subscriberId, now, appSecret)).outcome;
}

/** `unsubscribe`, also saying whether a lesson already with the provider may still arrive. */
export async function unsubscribeWithNotice(
  db: Db,
  subscriberId: string,
  now: number,
  appSecret: string,
): Promise<{ outcome: UnsubscribeOutcome; onItsWay: boolean }> {
  const result = await step(db, subscriberId, { kind: "unsubscribe" }, { now, sendHour: 0, emailHash: (email) => keyedHash(appSecret, email) });
  if (!result.ok) return { outcome: "not_found", onItsWay: false };
  return { outcome: result.changed ? "unsubscribed" : "already_unsubscribed", onItsWay: result.changed && result.before.inFlight };
}

/**
 * Erases the person: their deliveries, enrollment and subscriber row go, and only a keyed one-way
 * hash of the address stays on the suppression list, so they are never mailed again unless they
 * sign up anew (confirming lifts the suppression). All their signed links stop working, because
 * every route looks the subscriber up.
 */
export async function deleteSubscriber(db: Db, subscriberId: string, now: number, appSecret: string): Promise<boolean> {
  const result = await step(db, subscriberId, { kind: "delete" }, { now, sendHour: 0, emailHash: (email) => keyedHash(appSecret, email) });
  return result.ok;
}

/**
 * Whether the lesson the subscription stands at has been handed to the provider while the
 * subscription no longer expects it (paused or left since): it may still arrive. For pages.
 */
export async function lessonOnItsWay(db: Db, { subscriber, enrollment }: Subscription): Promise<boolean> {
  if (!enrollment || (enrollment.state === "active" && !hasLeft(subscriber.status))) return false;
  const rows = await db
    .select({ id: deliveries.id })
    .from(deliveries)
    .where(
      and(
        eq(deliveries.subscriberId, subscriber.id),
        eq(deliveries.course, enrollment.course),
        eq(deliveries.run, enrollment.run),
        eq(deliveries.lessonNumber, enrollment.nextLesson),
        eq(deliveries.status, "sending"),
        sql`${deliveries.batchId} is not null`,
      ),
    )
    .limit(1);
  return rows.length > 0;
}
