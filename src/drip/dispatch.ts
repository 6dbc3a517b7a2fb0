import { and, eq, inArray, sql } from "drizzle-orm";
import type { AppDeps } from "../app-env";
import { type Course, courseShape, coursesOf, lessonOf } from "../course";
import {
  advanceEnrollments,
  claimDue,
  endExpiredPauses,
  finishUnsendable,
  markSent,
  markSending,
  releaseLeases,
  settleKey,
  upsertDeliveries,
  type Advance,
  type ClaimedRow,
  type Delivery,
  type Lease,
} from "../db/drip-queries";
import {
  batchSending,
  claimUncertainBatch,
  freeMembers,
  insertBatch,
  leaseToBatch,
  settleBatch,
  stillActiveMembers,
  type SendBatch,
} from "../db/batch-queries";
import { deliveries, enrollments } from "../db/schema";
import { newId } from "../lib/ids";
import { maskPersonalData } from "../lib/logger";
import { MAX_BATCH, type BatchResult, type MailError, type OutgoingEmail } from "../mail/mailer";
import { afterLessonSent, FAILED_ENROLLMENT } from "../lifecycle/machine";
import { forCourse, sendHourOf, step } from "../lifecycle/store";
import { keyedHash } from "../lib/hash";
import { completedEventsInsert, sentEventsInsert } from "../events/record";
import { composeLessonEmail, lessonTemplate } from "./lesson-email";

/**
 * One dispatcher pass over one course, in named steps: resume the batches whose outcome is unknown
 * (from their own rows), then claim due enrollments, compose their emails into batches of up to
 * 100, send each through the provider's batch endpoint, and record the answer. Safe to run
 * concurrently and to re-run after a crash.
 *
 * Batches are rows (`send_batches`): a batch's id is its idempotency key, and each delivery names
 * the batch it went out in (`deliveries.batch_id`). A batch whose outcome is unknown (timeout, 5xx,
 * crash) is resent from its row with the same key: members who paused or left since are removed,
 * and a 409 "key already used with another payload" then proves the first attempt went out. A
 * definitive refusal of a new batch (4xx, 429) retires its key; its members go into a new batch
 * after the backoff. A batch still unknown 23 hours after its first attempt (Resend keeps a key for
 * 24) is never resent automatically: it is `held` for the operator, its members' lessons with it.
 * Batches use Resend's `permissive` validation, so one bad address fails only itself.
 */

export interface DispatchBudget {
  /** Emails one pass may send. */
  maxEmails: number;
  /** Wall time one pass may take, in milliseconds. */
  maxMs: number;
  /** Outbound calls (database and provider) one pass may make: Workers limit subrequests per invocation. */
  maxSubrequests: number;
}

export interface DispatchOptions {
  /** The course this pass sends; default: the registry's default course. `runDispatchAll` runs every course. */
  course?: Course;
  budget?: Partial<DispatchBudget>;
  /** Claim size; at most the provider's batch limit. */
  batchSize?: number;
  /** How long a claim is held (real time) before another pass may take it over. */
  leaseMs?: number;
  /** Attempts before a delivery is marked failed. */
  maxAttempts?: number;
  passId?: string;
  sleep?: (ms: number) => Promise<void>;
  /** Real time in ms (leases, the time budget, the key window); tests pass a fake one. Default `Date.now`. */
  wallClock?: () => number;
  /** Shutdown: once aborted, no new batch is prepared or sent; claimed rows not yet sent are released. */
  signal?: AbortSignal;
}

export type StopReason = "done" | "emails" | "time" | "subrequests" | "rate_limited" | "provider_refused" | "aborted";

export interface DispatchReport {
  passId: string;
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  cancelled: number;
  /** Lessons found already sent (a pass died after recording the send): advanced, nothing resent. */
  recovered: number;
  /** Claimed rows that named no lesson to send: finished (or held to the end of the pass), never re-claimed. */
  unsendable: number;
  resumed: number;
  /** Batches still unknown near the end of the provider's key window: held for the operator, not resent. */
  held: number;
  /** Database and provider calls made: what Workers count as subrequests. */
  calls: number;
  durationMs: number;
  stoppedBy: StopReason;
}

const SENT_STATUSES = new Set<Delivery["status"]>(["sent", "delivered", "delivery_delayed", "opened", "clicked", "bounced", "complained"]);
const UNCERTAIN_STATUSES = new Set<Delivery["status"]>(["sending", "retrying"]);
/** With the provider in a batch whose answer is not recorded: only that batch may send it. */
const inBatch = (d: Delivery) => d.batchId !== null && UNCERTAIN_STATUSES.has(d.status);
const DEFAULT_LEASE_MS = 5 * 60 * 1000;
const DEFAULT_MAX_ATTEMPTS = 8;
/** Resend keeps an idempotency key 24 hours; past 23 an unknown batch is held, never resent blind. */
export const HOLD_AFTER_MS = 23 * 60 * 60 * 1000;
/**
 * The most calls preparing a claim can take (claim, delivery rows, advance recovered, finish
 * unsendable), sending one batch (mark, drop two, send, record, failures of refused emails two),
 * and resuming one (claim it, read its members).
 */
const PREPARE_CALLS = 4;
const SEND_CALLS = 7;
const RESUME_CALLS = 2 + SEND_CALLS;
/** A 429 asking us to wait this long or less is waited out inside the pass, a few times at most. */
const MAX_IN_PASS_WAIT_MS = 5_000;
const MAX_RATE_LIMIT_WAITS = 3;

/** Exponential backoff: 1, 2, 4 … minutes, capped at an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(60 * 60 * 1000, 60 * 1000 * 2 ** Math.max(0, attempts - 1));
}

/** A new batch's id, which is its idempotency key: random, so a retired key is never reused. */
export function newBatchId(course: string): string {
  return `lessons-${course}-${newId()}`;
}

interface Pending {
  row: ClaimedRow;
  delivery: Delivery;
}

interface Composed extends Pending {
  email: OutgoingEmail;
}

/** A batch ready to go: its row's id (the key), whether it went out before, and its members. */
interface Batch {
  id: string;
  /** Resent from its row (its outcome was unknown): members are not leased by this pass. */
  resumed: boolean;
  /** Provider calls already made under the key. */
  attempts: number;
  members: Composed[];
}

type SendOutcome = "ok" | "rate_limited" | "provider_refused" | "out_of_budget";

export async function runDispatch(deps: AppDeps, options: DispatchOptions = {}): Promise<DispatchReport> {
  const pass = createPass(deps, options);
  pass.report.resumed = await pass.call(endExpiredPauses(deps.db, deps.clock()));
  const outcome = await pass.resumeUncertain();
  const last = outcome === "ok" ? await pass.sendDue() : outcome;
  return pass.finish(last);
}

/** The state of one pass and its steps (closures over it, so each step stays small). */
function createPass(deps: AppDeps, options: DispatchOptions) {
  const { db, mailer, clock, config, logger } = deps;
  const course = options.course ?? coursesOf(deps).defaultCourse;
  const shape = courseShape(course);
  const budget: DispatchBudget = {
    maxEmails: options.budget?.maxEmails ?? config.dispatchBudget.maxEmails,
    maxMs: options.budget?.maxMs ?? config.dispatchBudget.maxMs,
    maxSubrequests: options.budget?.maxSubrequests ?? config.dispatchBudget.maxSubrequests,
  };
  const batchSize = Math.min(MAX_BATCH, options.batchSize ?? MAX_BATCH);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const wallClock = options.wallClock ?? Date.now;
  const passId = options.passId ?? newId();
  const started = wallClock();
  const report: DispatchReport = {
    passId,
    claimed: 0,
    sent: 0,
    retried: 0,
    failed: 0,
    cancelled: 0,
    recovered: 0,
    unsendable: 0,
    resumed: 0,
    held: 0,
    calls: 0,
    durationMs: 0,
    stoppedBy: "done",
  };
  let scheduled = 0;
  const heldUntilEnd: string[] = [];
  /** Told when a batch's request goes to the provider, so the next batch can start preparing. */
  let onProviderCall = () => {};
  /** Whether `n` more calls fit, keeping one for the final release of held rows. */
  const fits = (n: number) => report.calls + n + 1 <= budget.maxSubrequests;
  const remainingMs = () => Math.max(0, budget.maxMs - (wallClock() - started));
  const lease = (): Lease => ({ passId, wallNow: wallClock(), until: wallClock() + leaseMs });
  /** Every subscriber this pass has claimed: a pass never takes the same row twice. */
  const claimedEver = new Set<string>();
  const storeContext = (now: number) => ({ now, sendHour: course.sendHour ?? config.sendHour, emailHash: (email: string) => keyedHash(config.appSecret, email), ...forCourse(course) });
  /** Who holds a batch's members' enrollments: this pass for a new batch; anyone for a resumed one. */
  const holderOf = (batch: Batch) => (batch.resumed ? null : passId);
  const subscribersOf = (members: Pending[]) => members.map((m) => m.row.subscriberId);
  /** `releaseLeases` as one statement of a batch. */
  const releaseStatement = (ids: string[]) =>
    db.update(enrollments).set({ leaseId: null, leaseUntil: null }).where(and(eq(enrollments.leaseId, passId), eq(enrollments.course, course.slug), inArray(enrollments.subscriberId, ids)));

  /** Every database or provider call goes through here, so the subrequest count is exact. */
  async function call<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    report.calls++;
    return typeof work === "function" ? work() : work;
  }

  /** Why the pass must stop before another step, or null to go on. */
  function stopReason(calls: number): StopReason | null {
    if (budget.maxEmails - scheduled <= 0) return "emails";
    if (options.signal?.aborted) return "aborted";
    if (remainingMs() <= 0) return "time";
    if (!fits(calls)) return "subrequests";
    return null;
  }

  /** The lifecycle's "sent" step for a row this pass holds (active, at this lesson). */
  function advanceFrom(row: ClaimedRow, sentAt: number): Advance {
    const fields = afterLessonSent(
      { state: "active", run: row.run, nextLesson: row.lessonNumber, nextSendAt: null, lastSentAt: row.lastSentAt, pausedUntil: null, startedAt: 0, completedAt: null },
      row.timeZone,
      row.lessonNumber,
      sentAt,
      { sendHour: sendHourOf(row, course.sendHour ?? config.sendHour), course: shape },
    );
    return {
      subscriberId: row.subscriberId,
      run: row.run,
      lessonNumber: row.lessonNumber,
      next: {
        nextLesson: fields.nextLesson!,
        lastSentAt: fields.lastSentAt!,
        nextSendAt: fields.nextSendAt ?? null,
        state: fields.state === "completed" ? "completed" : "active",
        completedAt: fields.completedAt ?? null,
      },
    };
  }

  /** Composes each member's email; concurrently, as WebCrypto signs the link tokens off the main thread. */
  async function compose(pending: Pending[]): Promise<Composed[]> {
    const composed = await Promise.all(
      pending.map(async (p): Promise<Composed | null> => {
        const lesson = lessonOf(course, p.row.lessonNumber);
        if (!lesson) return null;
        return { ...p, email: await composeLessonEmail(config, lesson, await lessonTemplate(lesson, config, course), p.row, course) };
      }),
    );
    const ready = composed.filter((c): c is Composed => c !== null);
    scheduled += ready.length;
    return ready;
  }

  // ---- record: what the provider's answer means for the rows --------------------------------

  /**
   * Lessons that went out after a control took the row (a pause, an unsubscribe or a restart that
   * landed while the lesson was with the provider): recorded through the lifecycle, so the 20-hour
   * rule and the next lesson account for them.
   */
  async function recordTaken(batch: Pending[], advanced: Set<string>, sentAt: number) {
    for (const p of batch.filter((m) => !advanced.has(m.row.subscriberId))) {
      report.calls += 4;
      await step(db, p.row.subscriberId, { kind: "sent", run: p.row.run, lesson: p.row.lessonNumber, sentAt }, storeContext(sentAt), { dropLease: false });
    }
  }

  /**
   * Records that `members` of `batch` were sent, and settles the batch: with `everyone` (a 409
   * proved the first attempt went out) every member still waiting on it is sent too; otherwise the
   * key was unused before, so the others never got it and are freed for a new batch.
   */
  async function recordSent(batch: Batch, members: Composed[], ids: (string | null)[], everyone: boolean) {
    const now = clock();
    const [, , advanced] = await call(
      db.batch([
        // Events hook (issue 14): `lesson.sent` before the rows turn sent, `enrollment.completed` after.
        sentEventsInsert(db, members.map((p) => p.delivery.id), batch.id, everyone, now),
        markSent(db, members.map((p, i) => ({ deliveryId: p.delivery.id, providerMessageId: ids[i] ?? null })), now),
        advanceEnrollments(db, holderOf(batch), members.map((p) => advanceFrom(p.row, now)), now, course.slug),
        completedEventsInsert(db, subscribersOf(members), now, course.slug),
        settleKey(db, batch.id, everyone, now),
        settleBatch(db, batch.id, "sent", now),
      ]),
    );
    report.sent += members.length;
    await recordTaken(members, new Set(advanced.rows.map((row) => String(row.subscriber_id))), now);
  }

  /**
   * A definitive refusal: these members were not sent. Retry later with backoff, or, past the cap
   * or for a bad address, give up. `retire`: the batch whose key is retired with it.
   */
  async function recordFailure(members: Pending[], error: MailError, holder: string | null, retire?: string) {
    const now = clock();
    const reason = maskPersonalData(`${error.status ?? "network"} ${error.name}: ${error.message}`).slice(0, 500);
    const held = holder === null ? sql`1 = 1` : eq(enrollments.leaseId, holder);
    const statements = members.flatMap((p) => {
      const attempts = p.delivery.attempts + 1;
      const giveUp = error.kind === "recipient" || attempts >= maxAttempts;
      if (giveUp) report.failed++;
      else report.retried++;
      const delay = Math.max(backoffMs(attempts), error.retryAfterMs ?? 0);
      const enrollment = giveUp ? { ...FAILED_ENROLLMENT } : { nextSendAt: now + delay };
      return [
        db.update(deliveries).set({ status: giveUp ? "failed" : "retrying", batchId: null, attempts, lastError: reason, updatedAt: now }).where(eq(deliveries.id, p.delivery.id)),
        db
          .update(enrollments)
          .set({ ...enrollment, leaseId: null, leaseUntil: null, updatedAt: now })
          .where(and(eq(enrollments.subscriberId, p.row.subscriberId), eq(enrollments.course, course.slug), held)),
      ];
    });
    const retiring = retire ? [freeMembers(db, retire, now), settleBatch(db, retire, "failed", now)] : [];
    const [first, ...rest] = [...retiring, ...statements];
    if (first) await call(db.batch([first, ...rest]));
  }

  /**
   * The answer is unknown (timeout, 5xx, network): the lesson may have gone out. The batch waits
   * for its next attempt under the same key; its members' enrollments wait with it (leased to the
   * batch, out of the due set). Past the attempt cap it gives up and its members fail.
   */
  async function recordUncertain(batch: Batch, members: Composed[], error: MailError) {
    const now = clock();
    const attempts = batch.attempts + 1;
    const reason = maskPersonalData(`${error.status ?? "network"} ${error.name}: ${error.message}`).slice(0, 500);
    const ids = members.map((m) => m.delivery.id);
    const subscribers = subscribersOf(members);
    const giveUp = attempts >= maxAttempts;
    const delay = Math.max(backoffMs(attempts), error.retryAfterMs ?? 0);
    const mine = and(eq(enrollments.course, course.slug), inArray(enrollments.subscriberId, subscribers), holderOf(batch) === null ? undefined : eq(enrollments.leaseId, passId));
    await call(
      db.batch([
        db
          .update(deliveries)
          .set({ status: giveUp ? "failed" : "retrying", attempts: sql`${deliveries.attempts} + 1`, lastError: reason, updatedAt: now })
          .where(inArray(deliveries.id, ids)),
        giveUp
          ? db.update(enrollments).set({ ...FAILED_ENROLLMENT, leaseId: null, leaseUntil: null, updatedAt: now }).where(mine)
          : db.update(enrollments).set({ nextSendAt: now + delay, updatedAt: now }).where(mine),
        leaseToBatch(db, batch.id, course.slug, [passId, batch.id], wallClock()),
        settleBatch(db, batch.id, giveUp ? "failed" : "retrying", now, giveUp ? null : now + delay),
      ]),
    );
    if (giveUp) report.failed += members.length;
    else report.retried += members.length;
  }

  /**
   * Gives back members who paused, left or were deleted since the claim: their lesson is not sent
   * now. A member of a resumed batch keeps its place in the batch, so the batch's answer settles it.
   */
  async function drop(batch: Batch, dropped: Composed[]) {
    report.cancelled += dropped.length;
    if (batch.resumed) return;
    await call(db.update(deliveries).set({ status: "cancelled", updatedAt: clock() }).where(inArray(deliveries.id, dropped.map((m) => m.delivery.id))));
    await call(releaseLeases(db, passId, subscribersOf(dropped), course.slug));
  }

  // ---- send: the last check, the provider call, the answer -----------------------------------

  /**
   * Creates the batch's row if new, and marks it and its members as going out, keeping only members
   * still active (checked in the same transaction, right before sending: a pause or unsubscribe
   * that landed after the claim wins). Returns the members to send.
   */
  async function markForSending(batch: Batch): Promise<Composed[]> {
    const now = clock();
    const l = lease();
    const lessons = new Set(batch.members.map((m) => m.row.lessonNumber));
    const results = await call(
      db.batch([
        insertBatch(db, { id: batch.id, course: course.slug, lesson: lessons.size === 1 ? [...lessons][0]! : null }, l, now),
        batchSending(db, batch.id, passId, l.wallNow, now),
        markSending(db, holderOf(batch), passId, batch.id, batch.members.map((m) => m.delivery.id), now),
      ]),
    );
    const marked = new Set(results[2].rows.map((row) => String(row.id)));
    const members = batch.members.filter((m) => marked.has(m.delivery.id));
    if (members.length < batch.members.length) await drop(batch, batch.members.filter((m) => !marked.has(m.delivery.id)));
    return members;
  }

  const isShortRateLimit = (result: BatchResult) =>
    !result.ok &&
    result.error.status === 429 &&
    result.error.retryAfterMs !== undefined &&
    result.error.retryAfterMs <= Math.min(MAX_IN_PASS_WAIT_MS, remainingMs());

  /**
   * Hands the batch to the provider under its key. The caller's last check (`markForSending`) comes
   * right before this with nothing in between; the next batch starts preparing once the request is out.
   */
  function providerCall(members: Composed[], key: string): Promise<BatchResult> {
    const answer = call(() => mailer.sendBatch(members.map((m) => m.email), { idempotencyKey: key, batchValidation: "permissive" }));
    // A timer turn lets the request start before this pass's other work competes for the thread.
    setTimeout(onProviderCall, 0);
    return answer;
  }

  /** Sends one batch (≤ 100) and records the outcome. */
  async function sendBatch(batch: Batch): Promise<SendOutcome> {
    let members = await markForSending(batch);
    if (members.length === 0) return settleEmpty(batch);
    let result = await providerCall(members, batch.id);
    // A short rate-limit wait is cheaper than ending the pass: wait it out and ask once more under
    // the same key (a 429 refuses the request before anything is sent).
    for (let waits = 0; waits < MAX_RATE_LIMIT_WAITS && isShortRateLimit(result); waits++) {
      if (!fits(SEND_CALLS)) break;
      await sleep(result.ok ? 0 : (result.error.retryAfterMs ?? 0));
      batch = { ...batch, attempts: batch.attempts + 1, members };
      // Anyone may have paused or left during the wait: the last check again, right before the call.
      members = await markForSending(batch);
      if (members.length === 0) return settleEmpty(batch);
      result = await providerCall(members, batch.id);
    }
    batch = { ...batch, members };
    return result.ok ? recordAccepted(batch, result) : recordRefused(batch, result.error);
  }

  /**
   * No member left to send: a new batch's key was never used (retired); a resumed one waits for
   * its members' answer (they may come back) until it is held.
   */
  async function settleEmpty(batch: Batch): Promise<SendOutcome> {
    const now = clock();
    await call(settleBatch(db, batch.id, batch.resumed ? "retrying" : "failed", now, batch.resumed ? now + backoffMs(batch.attempts) : null));
    return "ok";
  }

  /** The provider took the batch: record the sent, and fail only the emails it refused on their own. */
  async function recordAccepted(batch: Batch, result: Extract<BatchResult, { ok: true }>): Promise<SendOutcome> {
    const refused = new Map((result.rejected ?? []).map((r) => [r.index, r.error]));
    const accepted = batch.members.filter((_, i) => !refused.has(i));
    await recordSent(batch, accepted, result.ids.filter((_, i) => !refused.has(i)), false);
    // One statement batch per distinct refusal (usually one: an invalid `to`), so the calls stay few.
    const byReason = new Map<string, { error: MailError; members: Composed[] }>();
    for (const [index, error] of refused) {
      const group = byReason.get(`${error.kind} ${error.message}`) ?? { error, members: [] };
      group.members.push(batch.members[index]!);
      byReason.set(`${error.kind} ${error.message}`, group);
    }
    for (const group of byReason.values()) await recordFailure(group.members, group.error, holderOf(batch));
    if (refused.size > 0) logger.warn("dispatch_emails_refused", { passId, batchId: batch.id, emails: refused.size });
    if (result.rateLimit && result.rateLimit.remaining <= 0) await sleep(Math.min(result.rateLimit.resetMs, remainingMs()));
    return "ok";
  }

  /** The provider answered with an error: what it proves about the key decides what happens. */
  async function recordRefused(batch: Batch, error: MailError): Promise<SendOutcome> {
    const { members } = batch;
    logger.warn("dispatch_send_failed", { passId, batchId: batch.id, emails: members.length, status: error.status, reason: error.name, kind: error.kind });
    // The key was already used with another payload (members who left since): the first attempt went out.
    if (error.name === "invalid_idempotent_request") {
      await recordSent(batch, members, members.map(() => null), true);
      return "ok";
    }
    if (error.kind === "rejected") return refusedByProvider(batch, error);
    // An earlier attempt may have gone out: only the same key, later, can tell.
    if (batch.resumed || (error.kind === "transient" && error.status !== 429)) {
      await recordUncertain(batch, members, error);
      return error.status === 429 ? "rate_limited" : "ok";
    }
    if (error.kind === "recipient" && members.length > 1) return sendEachAlone(batch);
    // A definitive refusal of a new batch: nothing went out, so its key is retired.
    await recordFailure(members, error, passId, batch.id);
    return error.status === 429 ? "rate_limited" : "ok";
  }

  /**
   * Our key, domain or request is refused: nobody can be mailed until an operator acts. Keep
   * everyone's place (no attempt counted) and stop the pass. A new batch's key is retired; a resumed
   * one keeps its own and waits.
   */
  async function refusedByProvider(batch: Batch, error: MailError): Promise<SendOutcome> {
    const now = clock();
    if (batch.resumed) await call(settleBatch(db, batch.id, "retrying", now, now + backoffMs(batch.attempts + 1)));
    else await call(db.batch([freeMembers(db, batch.id, now), settleBatch(db, batch.id, "failed", now), releaseStatement(subscribersOf(batch.members))]));
    logger.error("dispatch_provider_refused", { passId, status: error.status, reason: error.name, message: maskPersonalData(error.message).slice(0, 200) });
    return "provider_refused";
  }

  /** One bad address refused a whole (strict) batch: retire its key and send each alone, so only that subscriber stops. */
  async function sendEachAlone(batch: Batch): Promise<SendOutcome> {
    await call(db.batch([freeMembers(db, batch.id, clock()), settleBatch(db, batch.id, "failed", clock())]));
    for (const [index, member] of batch.members.entries()) {
      const outcome = fits(SEND_CALLS) ? await sendBatch({ id: newBatchId(course.slug), resumed: false, attempts: 0, members: [member] }) : "out_of_budget";
      if (outcome !== "ok") {
        await call(releaseLeases(db, passId, subscribersOf(batch.members.slice(index + 1)), course.slug));
        return outcome;
      }
    }
    return "ok";
  }

  /** Sends the prepared batches one after another; after a stop, the rest go back unsent. */
  async function sendAll(batches: Batch[]): Promise<SendOutcome> {
    for (const [index, batch] of batches.entries()) {
      const outcome = fits(SEND_CALLS) ? await sendBatch(batch) : "out_of_budget";
      if (outcome !== "ok") {
        await call(releaseLeases(db, passId, batches.slice(index + 1).flatMap((b) => subscribersOf(b.members)), course.slug));
        return outcome;
      }
    }
    return "ok";
  }

  // ---- resume: batches whose outcome is unknown, from their own rows ------------------------

  /** Resends every uncertain batch whose time has come, one at a time, while the budget lasts. */
  async function resumeUncertain(): Promise<SendOutcome> {
    while (stopReason(RESUME_CALLS) === null) {
      const row = await call(claimUncertainBatch(db, lease(), clock(), course.slug));
      if (!row) return "ok";
      const outcome = await resumeBatch(row);
      if (outcome !== "ok") return outcome;
    }
    return "ok";
  }

  /** One uncertain batch: held if its key's window is nearly over, else resent with the same key to its still-active members. */
  async function resumeBatch(row: SendBatch): Promise<SendOutcome> {
    if (row.firstAttemptAt !== null && wallClock() - row.firstAttemptAt >= HOLD_AFTER_MS) return holdBatch(row);
    const members = await compose(await call(stillActiveMembers(db, row.id)));
    const batch: Batch = { id: row.id, resumed: true, attempts: row.attempts, members };
    if (members.length === 0) return settleEmpty(batch);
    return sendBatch(batch);
  }

  /**
   * Resend may have forgotten the key: a resend could mail everyone twice. The batch is held for the
   * operator (console, logs), its members' lessons with it: not sent, not skipped.
   */
  async function holdBatch(row: SendBatch): Promise<SendOutcome> {
    const now = clock();
    await call(db.batch([settleBatch(db, row.id, "held", now), leaseToBatch(db, row.id, course.slug, [row.id], wallClock())]));
    report.held++;
    logger.error("dispatch_batch_held", { passId, batchId: row.id, course: course.slug, attempts: row.attempts, reason: "key_window_ending" });
    return "ok";
  }

  // ---- claim and compose: due enrollments into new batches ----------------------------------

  /**
   * Claims the next due rows and gets them ready to send: delivery rows written, lessons found
   * already sent advanced, emails composed into new batches. Returns null when nothing is due.
   */
  async function prepare(room: number): Promise<Batch[] | null> {
    const now = clock();
    const taken = await call(claimDue(db, lease(), now, room, course.slug));
    if (taken.length === 0) return null;
    report.claimed += taken.length;
    const claimed = await setAsideUnsendable(taken, now);
    const found = await call(upsertDeliveries(db, claimed, newId, now, course.slug));
    const byKey = new Map(found.map((d) => [`${d.subscriberId}:${d.run}:${d.lessonNumber}`, d]));
    const pending: Pending[] = claimed.flatMap((row) => {
      const delivery = byKey.get(`${row.subscriberId}:${row.run}:${row.lessonNumber}`);
      return delivery ? [{ row, delivery }] : [];
    });
    await advanceRecovered(pending.filter((p) => SENT_STATUSES.has(p.delivery.status)), now);
    const toSend = pending.filter((p) => !SENT_STATUSES.has(p.delivery.status) && !inBatch(p.delivery));
    // Anything else claimed (in a batch still waiting for its answer, or a subscriber deleted since
    // the claim) stays leased to the end of the pass rather than being claimed again and again.
    const used = new Set([...pending.filter((p) => SENT_STATUSES.has(p.delivery.status)), ...toSend].map((p) => p.row.subscriberId));
    heldUntilEnd.push(...claimed.filter((row) => !used.has(row.subscriberId)).map((row) => row.subscriberId));
    const composed = await compose(toSend);
    const batches: Batch[] = [];
    for (let i = 0; i < composed.length; i += MAX_BATCH) batches.push({ id: newBatchId(course.slug), resumed: false, attempts: 0, members: composed.slice(i, i + MAX_BATCH) });
    return batches;
  }

  /** Recorded as sent before a pass died: move on without sending again. */
  async function advanceRecovered(recovered: Pending[], now: number) {
    if (recovered.length === 0) return;
    await call(advanceEnrollments(db, passId, recovered.map((p) => advanceFrom(p.row, p.delivery.sentAt ?? now)), now, course.slug));
    report.recovered += recovered.length;
  }

  /**
   * Takes out of a claim the rows that cannot be sent, so that they leave the due set in this pass:
   * an enrollment past the last lesson is finished (the lifecycle's "unsendable" step); a row this
   * pass claimed before (which should never happen) is held to the end of the pass. Logged with a
   * reason and counts, never personal data.
   */
  async function setAsideUnsendable(taken: ClaimedRow[], now: number): Promise<ClaimedRow[]> {
    const again = taken.filter((row) => claimedEver.has(row.subscriberId));
    for (const row of taken) claimedEver.add(row.subscriberId);
    const noLesson = taken.filter((row) => !again.includes(row) && lessonOf(course, row.lessonNumber) === undefined);
    if (noLesson.length > 0) {
      await call(finishUnsendable(db, passId, noLesson.map((row) => row.subscriberId), course.lessons.length, now, course.slug));
      // Anything else without a lesson (a number below 1) cannot be fixed here: hold it.
      heldUntilEnd.push(...noLesson.filter((row) => row.lessonNumber <= course.lessons.length).map((row) => row.subscriberId));
      logger.warn("dispatch_unsendable", { passId, rows: noLesson.length, reason: "no_such_lesson" });
    }
    if (again.length > 0) {
      heldUntilEnd.push(...again.map((row) => row.subscriberId));
      logger.error("dispatch_claimed_twice", { passId, rows: again.length });
    }
    report.unsendable += noLesson.length + again.length;
    return taken.filter((row) => !again.includes(row) && !noLesson.includes(row));
  }

  /**
   * Claims, composes and sends until nothing is due or a budget is spent. Without a subrequest
   * budget (Node), the next claim is prepared while the current batch is with the provider (at most
   * one in flight); with one (Workers), batches go one at a time so every call is counted first.
   */
  async function sendDue(): Promise<SendOutcome> {
    const pipelined = !Number.isFinite(budget.maxSubrequests);
    let sending: Promise<SendOutcome> = Promise.resolve("ok");
    for (;;) {
      const stop = stopReason(PREPARE_CALLS + SEND_CALLS);
      if (stop) {
        report.stoppedBy = stop;
        break;
      }
      const batches = await prepare(Math.min(batchSize, budget.maxEmails - scheduled));
      const previous = await sending;
      if (previous !== "ok" || options.signal?.aborted) {
        if (previous === "ok") report.stoppedBy = "aborted";
        if (batches) await call(releaseLeases(db, passId, batches.flatMap((b) => subscribersOf(b.members)), course.slug));
        return previous;
      }
      if (!batches) break;
      const requested = new Promise<void>((resolve) => (onProviderCall = resolve));
      sending = sendAll(batches);
      // Handled here so a failure isn't reported as unhandled while the next batch is prepared;
      // awaiting `sending` still throws it.
      sending.catch(() => {});
      // Prepare the next batch only once this one is on its way, so its last checks are not kept
      // waiting behind the next batch's work.
      if (!pipelined) await sending;
      else await Promise.race([requested, sending]);
    }
    return sending;
  }

  /** Ends the pass: the reason it stopped, held rows given back (the budget kept room), the report logged. */
  async function finish(last: SendOutcome): Promise<DispatchReport> {
    if (last === "rate_limited" || last === "provider_refused") report.stoppedBy = last;
    if (last === "out_of_budget") report.stoppedBy = "subrequests";
    if (heldUntilEnd.length > 0) await call(releaseLeases(db, passId, heldUntilEnd, course.slug));
    report.durationMs = wallClock() - started;
    logger.info("dispatch_pass", { ...report });
    return report;
  }

  return { report, call, resumeUncertain, sendDue, finish };
}
