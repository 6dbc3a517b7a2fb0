import { and, eq, ne, sql } from "drizzle-orm";
import { DateTime } from "luxon";
import { resolveTimeZone } from "../drip/schedule";
import type { Details, SubscriberFacts } from "../lifecycle/machine";
import type { Course } from "../course/course";
import { eventInsert } from "../events/record";
import { forCourse, step } from "../lifecycle/store";
import { newId } from "../lib/ids";
import type { Db } from "./client";
import { DEFAULT_COURSE_SLUG, enrollments, subscribers } from "./schema";

export type Subscriber = typeof subscribers.$inferSelect;
export type Enrollment = typeof enrollments.$inferSelect;

export async function findSubscriberByEmail(db: Db, email: string): Promise<Subscriber | undefined> {
  return db.query.subscribers.findFirst({ where: eq(subscribers.email, email) });
}

export async function findSubscriber(db: Db, id: string): Promise<Subscriber | undefined> {
  return db.query.subscribers.findFirst({ where: eq(subscribers.id, id) });
}

/** The subscriber's enrollment in `course` (a slug; default: the default course), if any. */
export async function findEnrollment(db: Db, subscriberId: string, course: string = DEFAULT_COURSE_SLUG): Promise<Enrollment | undefined> {
  return db.query.enrollments.findFirst({ where: and(eq(enrollments.subscriberId, subscriberId), eq(enrollments.course, course)) });
}

/** Every enrollment of the subscriber, in the order they joined. */
export async function findEnrollments(db: Db, subscriberId: string): Promise<Enrollment[]> {
  return db.query.enrollments.findMany({ where: eq(enrollments.subscriberId, subscriberId), orderBy: (e, { asc }) => [asc(e.startedAt), asc(e.course)] });
}

export interface SignupInput {
  email: string;
  firstName: string | null;
  timeZone: string;
}

/**
 * Records a signup and returns the subscriber it is about, or null if the row vanished meanwhile.
 * A new address becomes a pending subscriber with `input`'s details; an existing one (pending
 * included) keeps its own, so a stranger typing someone's address cannot move their time zone or
 * rename them (the details reach the row through the signed confirmation link:
 * `confirmSubscriber`'s `details`). An active subscriber gets an "already subscribed" email. An
 * unsubscribed, bounced or complained address goes back to pending with a new confirmation nonce,
 * so it needs a fresh confirmation before anything else is sent. See `lifecycle/machine.ts`.
 */
export async function recordSignup(db: Db, input: SignupInput, now: number): Promise<Subscriber | null> {
  const id = newId();
  // One round trip: the insert, its event, and the row that was there already (none for a new address).
  const [[row], , [existing]] = await db.batch([
    db
      .insert(subscribers)
      .values({ id, email: input.email, firstName: input.firstName, timeZone: input.timeZone, createdAt: now })
      .onConflictDoNothing({ target: subscribers.email })
      .returning(),
    // Events hook (issue 14): `subscriber.created`, only if that insert made the row (a fresh id).
    eventInsert(db, { type: "subscriber.created", subscriberId: id, courseSlug: null, lesson: null, payload: {} }, now, sql`exists (select 1 from subscribers where id = ${id})`),
    db
      .select()
      .from(subscribers)
      .where(and(eq(subscribers.email, input.email), ne(subscribers.id, id))),
  ]);
  if (row) return row;
  if (!existing) return null;
  const result = await step(db, existing.id, { kind: "signup", details: { firstName: input.firstName, timeZone: input.timeZone } }, { now, sendHour: 0, emailHash: noHash });
  // Nothing written and the step read the row as the batch did: that row is current, no need to read it again.
  if (result.ok && !result.changed && sameFacts(result.before.subscriber, existing)) return existing;
  return (await findSubscriber(db, existing.id)) ?? null;
}

/** Whether the lifecycle's view of a subscriber (its facts) matches a row read earlier. */
function sameFacts(facts: SubscriberFacts | null, row: Subscriber): boolean {
  if (!facts) return false;
  return (Object.keys(facts) as (keyof SubscriberFacts)[]).every((key) => facts[key] === row[key]);
}

const noHash = async () => {
  throw new Error("this step writes no suppression");
};

export type ConfirmOutcome = "confirmed" | "already-active" | "invalid";

/**
 * Activates a pending subscriber whose nonce the link carries, and enrols them: a first
 * confirmation starts the course with lesson 1 due now; a returning subscriber continues where
 * they stopped, at their next local send hour; one who had finished starts a new run from lesson
 * 1 (at once in the daytime, else at the next send hour). Confirming lifts any suppression of the
 * address (they asked for mail again). An active subscriber is told they already are; anyone else
 * (unsubscribed, or signed up again since) gets "invalid".
 *
 * Two confirmations can race (a mail scanner prefetching the link while the person clicks it):
 * the write is conditional on the state read, so the second finds them active and writes nothing.
 *
 * `schedule`: the service's send hour, or (as earlier releases passed it) the function that gives
 * a returning subscriber's next send time, from which the send hour is read; a subscriber's own
 * send hour wins either way. `details`: the name and time zone signed into the confirmation link;
 * they replace the stored ones on confirmation.
 */
export async function confirmSubscriber(
  db: Db,
  subscriberId: string,
  nonce: number | undefined,
  emailHash: string,
  now: number,
  schedule: ((lastSentAt: number) => number) | { sendHour: number },
  details?: Partial<Details>,
  /** The course the link enrols in; default: the default course (links made before there were several). */
  course?: Course,
): Promise<ConfirmOutcome> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber) return "invalid";
  // The function answers in the zone the subscriber will have once confirmed.
  const zone = details?.timeZone ?? subscriber.timeZone;
  const sendHour = typeof schedule === "function" ? sendHourFrom(schedule, now, zone) : schedule.sendHour;
  const ctx = { now, sendHour: course?.sendHour ?? sendHour, emailHash: async () => emailHash, ...(course && forCourse(course)) };
  const result = await step(db, subscriberId, { kind: "confirm", nonce: nonce ?? 0, details }, ctx);
  if (!result.ok) return "invalid";
  if (result.changed && result.before.subscriber?.status !== "active") {
    await db.update(subscribers).set({ confirmedVia: "link" }).where(eq(subscribers.id, subscriberId));
  }
  return result.changed ? "confirmed" : "already-active";
}

/** The local hour at which a schedule function puts lessons (it always answers at the send hour). */
function sendHourFrom(resumeAt: (lastSentAt: number) => number, now: number, timeZone: string): number {
  return DateTime.fromMillis(resumeAt(now), { zone: resolveTimeZone(timeZone) }).hour;
}

