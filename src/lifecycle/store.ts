import { and, eq, isNull, or, sql, type SQL } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { courseShape, type Course } from "../course/course";
import { clearSkin } from "../course/clear-skin";
import type { Db } from "../db/client";
import { anonymiseVotesStatement } from "../db/feedback";
import { DEFAULT_COURSE_SLUG, deliveries, enrollments, subscribers, suppressions } from "../db/schema";
import { lifecycleEvents } from "../events/derive";
import { eventInsert, forgetEvents, otherCoursesLeftEventsInsert } from "../events/record";
import type { EventDraft } from "../events/types";
import {
  transition,
  type Action,
  type CourseShape,
  type Effect,
  type EnrollmentFacts,
  type Outcome,
  type Refusal,
  type Snapshot,
  type SubscriberFacts,
} from "./machine";

/**
 * The lifecycle's thin database layer: read a snapshot, ask the pure `transition` for the next
 * one, write the difference in one batch (one transaction) whose every statement is conditional
 * on the snapshot read. If anything changed in between (the dispatcher advanced the row, another
 * tab paused), nothing is written and the whole step runs again from a fresh read.
 */

/** The default course (clear-skin), as the lifecycle sees it. */
export const COURSE_SHAPE: CourseShape = courseShape(clearSkin);

export interface StoreContext {
  now: number;
  /** The service's send hour; a subscriber's own hour, when they have one, wins (see `sendHourOf`). */
  sendHour: number;
  /** Keyed hash of an address, for the suppression list. */
  emailHash(email: string): Promise<string>;
  /** The course's shape; default: the default course's. Pass `...forCourse(course)` to set both. */
  course?: CourseShape;
  /** The slug of the course whose enrollment this step reads and writes; default: the default course. */
  courseSlug?: string;
}

/** The store context fields for `course`: its slug and its shape. */
export function forCourse(course: Course): { course: CourseShape; courseSlug: string } {
  return { course: courseShape(course), courseSlug: course.slug };
}

export interface StoreOptions {
  /** Statements to run in the same transaction, only if the step applies (`guard` holds). */
  extra?: (guard: SQL) => BatchItem<"sqlite">[];
  /** Controls and provider news drop any dispatcher lease (default); the dispatcher keeps it. */
  dropLease?: boolean;
}

export type StepResult =
  | {
      ok: true;
      changed: boolean;
      /** The state read (and still true when the write landed) and the state written. */
      before: Snapshot;
      snapshot: Snapshot;
      subscriberId: string | null;
    }
  | { ok: false; refusal: Refusal };

type SubscriberRow = typeof subscribers.$inferSelect;
type EnrollmentRow = typeof enrollments.$inferSelect;

/** The send hour that applies to a subscriber: their own (manage page), else the service's. */
export function sendHourOf(subscriber: { sendHour?: number | null } | null, fallback: number): number {
  return subscriber?.sendHour ?? fallback;
}

const ATTEMPTS = 5;

/** The subscriber and their enrollment in `course` (default: the default course), as the lifecycle sees them. */
export async function readSnapshot(db: Db, subscriberId: string, course: string = DEFAULT_COURSE_SLUG): Promise<{ snapshot: Snapshot; row: SubscriberRow | undefined }> {
  const [row, enrollment] = await Promise.all([
    db.query.subscribers.findFirst({ where: eq(subscribers.id, subscriberId) }),
    db.query.enrollments.findFirst({ where: and(eq(enrollments.subscriberId, subscriberId), eq(enrollments.course, course)) }),
  ]);
  const inFlight = enrollment ? await lessonInFlight(db, subscriberId, course, enrollment.run, enrollment.nextLesson) : false;
  return { row, snapshot: { subscriber: row ? subscriberFacts(row) : null, enrollment: enrollment ? enrollmentFacts(enrollment) : null, inFlight } };
}

function subscriberFacts(row: SubscriberRow): SubscriberFacts {
  const { status, confirmationNonce, firstName, timeZone, unsubscribedAt, confirmedAt } = row;
  return { status, confirmationNonce, firstName, timeZone, unsubscribedAt, confirmedAt };
}

function enrollmentFacts(row: EnrollmentRow): EnrollmentFacts {
  const { state, run, nextLesson, nextSendAt, lastSentAt, pausedUntil, startedAt, completedAt } = row;
  return { state, run, nextLesson, nextSendAt, lastSentAt, pausedUntil, startedAt, completedAt };
}

/** A delivery row of this lesson marked as handed to the provider, outcome not yet recorded. */
function inFlightSql(subscriberId: string, course: string, run: SQL | number, lesson: SQL | number): SQL {
  return sql`exists (select 1 from deliveries d where d.subscriber_id = ${subscriberId} and d.course = ${course} and d.run = ${run}
    and d.lesson_number = ${lesson} and d.status = 'sending' and d.batch_id is not null)`;
}

async function lessonInFlight(db: Db, subscriberId: string, course: string, run: number, lesson: number): Promise<boolean> {
  const result = await db.run(sql`select ${inFlightSql(subscriberId, course, run, lesson)} as x`);
  return Number(result.rows[0]?.x) === 1;
}

function subscriberIs(id: string, s: SubscriberFacts | null): SQL {
  if (!s) return sql`not exists (select 1 from subscribers where id = ${id})`;
  return sql`exists (select 1 from subscribers where id = ${id} and status = ${s.status} and confirmation_nonce = ${s.confirmationNonce})`;
}

function enrollmentIs(id: string, course: string, e: EnrollmentFacts | null): SQL {
  if (!e) return sql`not exists (select 1 from enrollments where subscriber_id = ${id} and course = ${course})`;
  return sql`exists (select 1 from enrollments where subscriber_id = ${id} and course = ${course} and state = ${e.state} and run = ${e.run}
    and next_lesson = ${e.nextLesson} and next_send_at is ${e.nextSendAt} and last_sent_at is ${e.lastSentAt}
    and paused_until is ${e.pausedUntil})`;
}

function inFlightIs(id: string, course: string, s: Snapshot): SQL {
  if (!s.enrollment) return sql`1`;
  const check = inFlightSql(id, course, s.enrollment.run, s.enrollment.nextLesson);
  return s.inFlight ? check : sql`not ${check}`;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/**
 * Runs `action` for one subscriber: read, decide, write conditionally, and again from a fresh
 * read if the write found the rows changed. Throws after ATTEMPTS lost races (never seen outside
 * a test that provokes it on purpose).
 */
export async function step(db: Db, subscriberId: string, action: Action, ctx: StoreContext, options: StoreOptions = {}): Promise<StepResult> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const { snapshot, row } = await readSnapshot(db, subscriberId, ctx.courseSlug ?? DEFAULT_COURSE_SLUG);
    const outcome = transition(snapshot, action, { now: ctx.now, sendHour: sendHourOf(row ?? null, ctx.sendHour), course: ctx.course ?? COURSE_SHAPE });
    if (!outcome.ok) return outcome;
    if (!outcome.changed && !options.extra) return { ok: true, changed: false, before: snapshot, snapshot, subscriberId: row?.id ?? null };
    const needsHash = outcome.effects.some((e) => e.kind !== "cancelPending");
    const hash = row && needsHash ? await ctx.emailHash(row.email) : undefined;
    // Events hook (issue 14): the step's events go into the same conditional batch.
    const events = lifecycleEvents(subscriberId, snapshot, outcome.next, ctx.course ?? COURSE_SHAPE, slugOf(ctx));
    if (await write(db, subscriberId, snapshot, outcome, { ...ctx, hash, ...options, events })) {
      return { ok: true, changed: outcome.changed, before: snapshot, snapshot: outcome.next, subscriberId: row?.id ?? null };
    }
  }
  throw new Error(`lifecycle: ${action.kind} lost ${ATTEMPTS} races in a row`);
}

interface WriteContext extends StoreContext, StoreOptions {
  hash: string | undefined;
  /** Events of this step (src/events/derive.ts), written only if the step applies. */
  events: EventDraft[];
}

const slugOf = (ctx: StoreContext) => ctx.courseSlug ?? DEFAULT_COURSE_SLUG;

/** Writes the difference between `before` and the outcome; true if it applied. */
async function write(db: Db, id: string, before: Snapshot, outcome: Extract<Outcome, { ok: true }>, ctx: WriteContext): Promise<boolean> {
  const { next, effects } = outcome;
  const course = slugOf(ctx);
  const guard = and(subscriberIs(id, before.subscriber), enrollmentIs(id, course, before.enrollment), inFlightIs(id, course, before))!;
  if (effects.some((e) => e.kind === "erase")) {
    const events = [forgetEvents(db, id, guard), ...ctx.events.map((e) => eventInsert(db, e, ctx.now, guard))];
    await db.batch([...(ctx.extra?.(guard) ?? []), ...events, ...eraseStatements(db, id, ctx.hash, ctx.now)] as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
    return true;
  }

  const extra = ctx.extra?.(guard) ?? [];
  const events = ctx.events.map((e) => eventInsert(db, e, ctx.now, guard));
  const statements: BatchItem<"sqlite">[] = [...extra, ...events, ...effects.flatMap((e) => effectStatements(db, id, e, ctx, guard))];
  // The statement whose result says whether the guard held: the last lifecycle write, else the
  // first extra statement (by convention guarded), else none (nothing conditional was written).
  let pivot: number | null = extra.length > 0 ? 0 : null;
  const enrollmentChanged = next.enrollment !== null && (!same(before.enrollment, next.enrollment) || ctx.dropLease !== false);
  if (enrollmentChanged && next.enrollment) {
    pivot = statements.push(enrollmentWrite(db, id, before.enrollment, next.enrollment, guard, ctx)) - 1;
  }
  if (before.subscriber && next.subscriber && !same(before.subscriber, next.subscriber)) {
    // Our enrollment write changed the rows the guard reads: from here on, expect its result.
    const afterEnrollment = enrollmentChanged ? enrollmentIs(id, course, next.enrollment) : enrollmentIs(id, course, before.enrollment);
    const subscriberGuard = and(subscriberIs(id, before.subscriber), afterEnrollment, inFlightIs(id, course, before))!;
    const { status, confirmationNonce, firstName, timeZone, unsubscribedAt, confirmedAt } = next.subscriber;
    pivot =
      statements.push(
        db
          .update(subscribers)
          .set({ status, confirmationNonce, firstName, timeZone, unsubscribedAt, confirmedAt })
          .where(and(eq(subscribers.id, id), subscriberGuard))
          .returning({ id: subscribers.id }),
      ) - 1;
  }
  if (statements.length === 0) return true;
  const results = await db.batch(statements as [BatchItem<"sqlite">, ...BatchItem<"sqlite">[]]);
  if (pivot === null) return true;
  const result = results[pivot] as unknown;
  return Array.isArray(result) ? result.length > 0 : Number((result as { rowsAffected?: number }).rowsAffected ?? 0) > 0;
}

function enrollmentWrite(db: Db, id: string, before: EnrollmentFacts | null, e: EnrollmentFacts, guard: SQL, ctx: WriteContext): BatchItem<"sqlite"> {
  if (!before) {
    return db.run(sql`insert into enrollments (subscriber_id, course, run, state, next_lesson, next_send_at, last_sent_at, paused_until, started_at, completed_at, updated_at)
      select ${id}, ${slugOf(ctx)}, ${e.run}, ${e.state}, ${e.nextLesson}, ${e.nextSendAt}, ${e.lastSentAt}, ${e.pausedUntil}, ${e.startedAt}, ${e.completedAt}, ${ctx.now}
      where ${guard}
      on conflict (subscriber_id, course) do nothing`);
  }
  return db
    .update(enrollments)
    .set({ ...e, updatedAt: ctx.now, ...(ctx.dropLease !== false && { leaseId: null, leaseUntil: null }) })
    .where(and(eq(enrollments.subscriberId, id), eq(enrollments.course, slugOf(ctx)), guard))
    .returning({ id: enrollments.subscriberId });
}

function effectStatements(db: Db, id: string, effect: Effect, ctx: WriteContext, guard: SQL): BatchItem<"sqlite">[] {
  switch (effect.kind) {
    case "suppress":
      return ctx.hash ? [suppressStatement(db, ctx.hash, effect.reason, ctx.now, guard)] : [];
    case "liftSuppression":
      return ctx.hash ? [db.delete(suppressions).where(and(eq(suppressions.emailHash, ctx.hash), guard))] : [];
    case "cancelPending":
      // Lessons of the old run not yet with the provider are never sent now. One already handed
      // over is left to its pass, which records it (it may arrive, and counts for the 20 hours).
      return [
        db
          .update(deliveries)
          .set({ status: "cancelled", updatedAt: ctx.now })
          .where(
            and(
              eq(deliveries.subscriberId, id),
              eq(deliveries.course, slugOf(ctx)),
              eq(deliveries.run, effect.run),
              or(eq(deliveries.status, "retrying"), and(eq(deliveries.status, "sending"), isNull(deliveries.batchId))),
              guard,
            ),
          ),
      ];
    case "leaveOtherCourses":
      // Consent withdrawn (or the address refused): every other course stops too. A finished one stays finished.
      return [
        // Events hook (issue 14): each course stopped here is left; recorded before the update.
        otherCoursesLeftEventsInsert(db, id, slugOf(ctx), ctx.now, guard),
        db.run(sql`update enrollments set
            state = case when state = 'completed' then 'completed' else 'stopped' end,
            next_send_at = null, paused_until = null, lease_id = null, lease_until = null, updated_at = ${ctx.now}
          where subscriber_id = ${id} and course <> ${slugOf(ctx)} and state in ('active', 'paused', 'failed') and ${guard}`),
      ];
    case "erase":
      return [];
  }
}

/**
 * Puts a hash on the suppression list. A complaint is the strongest reason and is never replaced;
 * "deleted" replaces only "unsubscribed"; a bounce replaces anything but a complaint.
 */
export function suppressStatement(db: Db, emailHash: string, reason: "unsubscribed" | "bounced" | "complained" | "deleted", now: number, guard: SQL = sql`1`) {
  const replace =
    reason === "complained" ? sql`1` : reason === "bounced" ? sql`${suppressions.reason} <> 'complained'` : reason === "deleted" ? sql`${suppressions.reason} = 'unsubscribed'` : sql`0`;
  return db.run(sql`insert into suppressions (email_hash, reason, created_at) select ${emailHash}, ${reason}, ${now} where ${guard}
    on conflict (email_hash) do update set reason = excluded.reason${reason === "deleted" ? sql`, created_at = excluded.created_at` : sql``}
    where ${replace}`);
}

/**
 * Erases the person. Children are deleted explicitly rather than through ON DELETE CASCADE, which
 * depends on `PRAGMA foreign_keys` on each connection.
 */
function eraseStatements(db: Db, id: string, hash: string | undefined, now: number): BatchItem<"sqlite">[] {
  return [
    // Lesson feedback (src/db/feedback.ts): votes stay as anonymous counts, comments go.
    anonymiseVotesStatement(db, id),
    db.delete(deliveries).where(eq(deliveries.subscriberId, id)),
    db.delete(enrollments).where(eq(enrollments.subscriberId, id)),
    db.delete(subscribers).where(eq(subscribers.id, id)),
    ...(hash ? [suppressStatement(db, hash, "deleted", now)] : []),
  ];
}
