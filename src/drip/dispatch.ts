import { and, eq, inArray } from "drizzle-orm";
import type { AppDeps } from "../app-env";
import { type Course, courseShape, coursesOf, lessonOf } from "../course";
import {
  advanceEnrollments,
  claimDue,
  claimMembers,
  endExpiredPauses,
  finishUnsendable,
  markSent,
  markSending,
  releaseLeases,
  settleKey,
  uncertainMembers,
  upsertDeliveries,
  type Advance,
  type ClaimedRow,
  type Delivery,
  type Lease,
} from "../db/drip-queries";
import { DEFAULT_COURSE_SLUG, deliveries, enrollments } from "../db/schema";
import { newId } from "../lib/ids";
import { maskPersonalData } from "../lib/logger";
import { MAX_BATCH, type BatchResult, type MailError, type OutgoingEmail } from "../mail/mailer";
import { afterLessonSent, FAILED_ENROLLMENT } from "../lifecycle/machine";
import { forCourse, sendHourOf, step } from "../lifecycle/store";
import { keyedHash } from "../lib/hash";
import { completedEventsInsert, sentEventsInsert } from "../events/record";
import { composeLessonEmail, lessonTemplate } from "./lesson-email";

/**
 * One dispatcher pass: claim due enrollments in bounded batches, write a delivery row before each
 * send, send through the provider's batch endpoint with an idempotency key, then advance each
 * subscriber to their next lesson. Safe to run concurrently and to re-run after a crash.
 *
 * Idempotency: a new batch's key is a digest of its members. A batch whose outcome is unknown
 * (timeout, 5xx, crash) keeps its key on its delivery rows and goes out again as a whole, with the
 * same key, once all its still-active members can be claimed together; members who left since are
 * dropped, and a 409 "key already used with another payload" then proves the first attempt went
 * out, so the rest are marked sent rather than mailed twice.
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
  /** Real time in ms (leases, the time budget); tests pass a fake one. Default `Date.now`. */
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
  /** Database and provider calls made: what Workers count as subrequests. */
  calls: number;
  durationMs: number;
  stoppedBy: StopReason;
}

const SENT_STATUSES = new Set<Delivery["status"]>(["sent", "delivered", "delivery_delayed", "opened", "clicked", "bounced", "complained"]);
const UNCERTAIN_STATUSES = new Set<Delivery["status"]>(["sending", "retrying"]);
/** Tried under a key without a definitive answer (timeout, 5xx, crash): may or may not have gone out. */
const isUncertain = (d: Delivery) => d.batchKey !== null && UNCERTAIN_STATUSES.has(d.status);
const DEFAULT_LEASE_MS = 5 * 60 * 1000;
const DEFAULT_MAX_ATTEMPTS = 8;
/**
 * The most calls preparing a claim can take (claim, delivery rows, uncertain members, claim them,
 * check the rest, advance recovered, release unused), and sending one batch (check and mark,
 * cancel and release the dropped, mark again under a new key, send, record).
 */
const PREPARE_CALLS = 7;
const SEND_CALLS = 6;
/** A 429 asking us to wait this long or less is waited out inside the pass, a few times at most. */
const MAX_IN_PASS_WAIT_MS = 5_000;
const MAX_RATE_LIMIT_WAITS = 3;

/** Exponential backoff: 1, 2, 4 … minutes, capped at an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(60 * 60 * 1000, 60 * 1000 * 2 ** Math.max(0, attempts - 1));
}

/** The idempotency key of a new batch: a digest of its members. */
export async function batchKey(members: { subscriberId: string; run: number; lessonNumber: number }[], course: string = DEFAULT_COURSE_SLUG): Promise<string> {
  // The default course's keys are as before (no prefix), so a batch left uncertain by the
  // previous release is recognised after the upgrade.
  const prefix = course === DEFAULT_COURSE_SLUG ? "" : `${course}/`;
  const ids = members.map((m) => `${prefix}${m.subscriberId}:${m.run}:${m.lessonNumber}`).sort().join(",");
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(ids));
  return `lessons-${[...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

interface Pending {
  row: ClaimedRow;
  delivery: Delivery;
}

interface Composed extends Pending {
  email: OutgoingEmail;
}

/** A batch ready to go: its members and, for a batch sent before, the key it went out with. */
interface Batch {
  key: string | null;
  members: Composed[];
}

type SendOutcome = "ok" | "rate_limited" | "provider_refused" | "out_of_budget";

export async function runDispatch(deps: AppDeps, options: DispatchOptions = {}): Promise<DispatchReport> {
  const { db, mailer, clock, config, logger } = deps;
  const course = options.course ?? coursesOf(deps).defaultCourse;
  const shape = courseShape(course);
  const lessonCount = course.lessons.length;
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
  /** Every database or provider call goes through here, so the subrequest count is exact. */
  async function call<T>(work: Promise<T> | (() => Promise<T>)): Promise<T> {
    report.calls++;
    return typeof work === "function" ? work() : work;
  }

  report.resumed = await call(endExpiredPauses(db, clock()));

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

  /**
   * Lessons that went out after a control took the row from this pass (a pause, an unsubscribe or
   * a restart that landed while the lesson was with the provider): recorded through the lifecycle,
   * so the 20-hour rule and the next lesson account for them.
   */
  async function recordTaken(batch: Pending[], advanced: Set<string>, sentAt: number) {
    for (const p of batch.filter((m) => !advanced.has(m.row.subscriberId))) {
      report.calls += 4;
      await step(
        db,
        p.row.subscriberId,
        { kind: "sent", run: p.row.run, lesson: p.row.lessonNumber, sentAt },
        { now: sentAt, sendHour: course.sendHour ?? config.sendHour, emailHash: (email) => keyedHash(config.appSecret, email), ...forCourse(course) },
        { dropLease: false },
      );
    }
  }

  /**
   * Records a definitive answer for `key`: these members were sent, and every other row still
   * waiting under the key is settled too. `everyone`: the provider refused the key as used with
   * another payload, so the first attempt, with all its members, went out. Otherwise the send
   * succeeded, which proves the key was unused before: the others never got it and lose the key,
   * so they go out in a new batch if they come back.
   */
  async function recordSent(batch: Pending[], ids: (string | null)[], key: string, everyone: boolean) {
    const now = clock();
    const [, , advanced] = await call(
      db.batch([
        // Events hook (issue 14): `lesson.sent` before the rows turn sent, `enrollment.completed` after.
        sentEventsInsert(db, batch.map((p) => p.delivery.id), key, everyone, now),
        markSent(db, batch.map((p, i) => ({ deliveryId: p.delivery.id, providerMessageId: ids[i] ?? null })), now),
        advanceEnrollments(db, passId, batch.map((p) => advanceFrom(p.row, now)), now, course.slug),
        completedEventsInsert(db, batch.map((p) => p.row.subscriberId), now, course.slug),
        settleKey(db, key, everyone, now),
      ]),
    );
    report.sent += batch.length;
    await recordTaken(batch, new Set(advanced.rows.map((row) => String(row.subscriber_id))), now);
  }

  /** A failed attempt: retry later with backoff, or, past the cap or for a bad address, give up. */
  async function recordFailure(batch: Pending[], error: MailError) {
    const now = clock();
    const reason = maskPersonalData(`${error.status ?? "network"} ${error.name}: ${error.message}`).slice(0, 500);
    const statements = batch.flatMap((p) => {
      const attempts = p.delivery.attempts + 1;
      const giveUp = error.kind === "recipient" || attempts >= maxAttempts;
      if (giveUp) report.failed++;
      else report.retried++;
      const delay = Math.max(backoffMs(attempts), error.retryAfterMs ?? 0);
      return [
        db.update(deliveries).set({ status: giveUp ? "failed" : "retrying", attempts, lastError: reason, updatedAt: now }).where(eq(deliveries.id, p.delivery.id)),
        db
          .update(enrollments)
          .set(
            giveUp
              ? { ...FAILED_ENROLLMENT, leaseId: null, leaseUntil: null, updatedAt: now }
              : { nextSendAt: now + delay, leaseId: null, leaseUntil: null, updatedAt: now },
          )
          .where(and(eq(enrollments.subscriberId, p.row.subscriberId), eq(enrollments.course, course.slug), eq(enrollments.leaseId, passId))),
      ];
    });
    const [first, ...rest] = statements;
    if (first) await call(db.batch([first, ...rest]));
  }

  /**
   * Gives back members who paused, left or were deleted since the claim: their lesson is not sent
   * now. A member of an uncertain batch keeps its key (and status), so the batch's answer settles it.
   */
  async function drop(dropped: Composed[]) {
    const fresh = dropped.filter((m) => !isUncertain(m.delivery));
    if (fresh.length > 0) {
      await call(db.update(deliveries).set({ status: "cancelled", updatedAt: clock() }).where(inArray(deliveries.id, fresh.map((m) => m.delivery.id))));
    }
    await call(releaseLeases(db, passId, dropped.map((m) => m.row.subscriberId), course.slug));
    report.cancelled += dropped.length;
  }

  /**
   * Marks the batch as going out under its key, keeping only members still active (checked in the
   * same statement, right before sending: a pause or unsubscribe that landed after the claim wins).
   */
  async function markForSending(batch: Batch): Promise<{ key: string; members: Composed[] }> {
    const ids = (members: Composed[]) => members.map((m) => m.delivery.id);
    let key = batch.key ?? (await batchKey(batch.members.map((m) => m.row), course.slug));
    const marked = await call(markSending(db, passId, key, ids(batch.members), clock()));
    const members = batch.members.filter((m) => marked.has(m.delivery.id));
    if (members.length < batch.members.length) {
      await drop(batch.members.filter((m) => !marked.has(m.delivery.id)));
      // A new batch's key is a digest of its members: fewer members, another key.
      if (!batch.key && members.length > 0) {
        key = await batchKey(members.map((m) => m.row), course.slug);
        await call(markSending(db, passId, key, ids(members), clock()));
      }
    }
    return { key, members };
  }

  const isShortRateLimit = (result: BatchResult) =>
    !result.ok &&
    result.error.status === 429 &&
    result.error.retryAfterMs !== undefined &&
    result.error.retryAfterMs <= Math.min(MAX_IN_PASS_WAIT_MS, remainingMs());

  /**
   * Hands the batch to the provider. The caller's last check (`markForSending`) comes right before
   * this with nothing in between; the next batch starts preparing only once the request is out.
   */
  function providerCall(members: Composed[], key: string): Promise<BatchResult> {
    const answer = call(() => mailer.sendBatch(members.map((m) => m.email), { idempotencyKey: key, batchValidation: "permissive" }));
    // A timer turn lets the request start before this pass's other work competes for the thread.
    setTimeout(onProviderCall, 0);
    return answer;
  }

  /** Sends one batch (≤ 100) and records the outcome. */
  async function sendBatch(batch: Batch): Promise<SendOutcome> {
    let { key, members } = await markForSending(batch);
    if (members.length === 0) return "ok";
    let result = await providerCall(members, key);
    // A short rate-limit wait is cheaper than ending the pass: wait it out and ask once more
    // (a 429 is refused before anything is sent, so the same key is still unused).
    for (let waits = 0; waits < MAX_RATE_LIMIT_WAITS && isShortRateLimit(result); waits++) {
      if (!fits(SEND_CALLS)) break;
      await sleep(result.ok ? 0 : (result.error.retryAfterMs ?? 0));
      // Anyone may have paused or left during the wait: the last check again, right before the call.
      ({ key, members } = await markForSending({ key: batch.key, members }));
      if (members.length === 0) return "ok";
      result = await providerCall(members, key);
    }

    if (result.ok) {
      // Permissive validation: an email the provider refused on its own fails only its member.
      const refused = new Map((result.rejected ?? []).map((r) => [r.index, r.error]));
      const accepted = members.filter((_, i) => !refused.has(i));
      if (accepted.length > 0) await recordSent(accepted, result.ids.filter((_, i) => !refused.has(i)), key, false);
      // One statement batch per distinct refusal (usually one: "invalid `to`"), so the calls stay few.
      const byReason = new Map<string, { error: MailError; members: Composed[] }>();
      for (const [index, error] of refused) {
        const group = byReason.get(`${error.kind} ${error.message}`) ?? { error, members: [] };
        group.members.push(members[index]!);
        byReason.set(`${error.kind} ${error.message}`, group);
      }
      for (const group of byReason.values()) await recordFailure(group.members, group.error);
      if (result.rateLimit && result.rateLimit.remaining <= 0) await sleep(Math.min(result.rateLimit.resetMs, remainingMs()));
      return "ok";
    }
    const { error } = result;
    // The provider already accepted a batch under this key (with members who have left since):
    // the first attempt went out although we never saw the answer.
    if (error.name === "invalid_idempotent_request") {
      await recordSent(members, members.map(() => null), key, true);
      return "ok";
    }
    if (error.kind === "rejected") {
      // Our key, domain or request is refused: nobody can be mailed until an operator acts. Keep
      // everyone's place (no attempt counted) and stop the pass.
      await call(releaseLeases(db, passId, members.map((m) => m.row.subscriberId), course.slug));
      logger.error("dispatch_provider_refused", { passId, status: error.status, reason: error.name, message: maskPersonalData(error.message).slice(0, 200) });
      return "provider_refused";
    }
    if (error.kind === "recipient" && members.length > 1) {
      // One bad address fails a whole batch; send each alone so only that subscriber stops.
      for (const [index, member] of members.entries()) {
        const outcome = fits(SEND_CALLS) ? await sendBatch({ key: null, members: [member] }) : "out_of_budget";
        if (outcome !== "ok") {
          await call(releaseLeases(db, passId, members.slice(index + 1).map((m) => m.row.subscriberId), course.slug));
          return outcome;
        }
      }
      return "ok";
    }
    await recordFailure(members, error);
    logger.warn("dispatch_send_failed", { passId, emails: members.length, status: error.status, reason: error.name, kind: error.kind });
    return error.status === 429 ? "rate_limited" : "ok";
  }

  /** Sends the prepared batches one after another; after a stop, the rest go back unsent. */
  async function sendAll(batches: Batch[]): Promise<SendOutcome> {
    for (const [index, batch] of batches.entries()) {
      const outcome = fits(SEND_CALLS) ? await sendBatch(batch) : "out_of_budget";
      if (outcome !== "ok") {
        await call(releaseLeases(db, passId, batches.slice(index + 1).flatMap((b) => b.members.map((m) => m.row.subscriberId)), course.slug));
        return outcome;
      }
    }
    return "ok";
  }

  /**
   * Claims the next due rows and gets them ready to send: delivery rows written, earlier uncertain
   * batches completed, emails composed. Returns null when nothing is due.
   */
  async function prepare(room: number): Promise<Batch[] | null> {
    const now = clock();
    const taken = await call(claimDue(db, lease(), now, room, course.slug));
    if (taken.length === 0) return null;
    report.claimed += taken.length;
    const claimed = await setAsideUnsendable(taken, now);

    let rows = claimed;
    let found = await call(upsertDeliveries(db, claimed, newId, now, course.slug));

    // Members of an uncertain batch go out again together: claim the ones this claim missed.
    const keys = [...new Set(found.filter(isUncertain).map((d) => d.batchKey!))];
    const incomplete = new Set<string>();
    if (keys.length > 0) {
      const members = await call(uncertainMembers(db, keys));
      const have = new Set(claimed.map((r) => r.subscriberId));
      const missing = members.filter((m) => !have.has(m.subscriberId));
      if (missing.length > 0) {
        const extra = await call(claimMembers(db, lease(), missing.map((m) => m.subscriberId), course.slug));
        report.claimed += extra.length;
        rows = [...claimed, ...extra];
        found = [...found, ...missing.filter((m) => extra.some((e) => e.subscriberId === m.subscriberId))];
        // Still-active members another pass holds: wait until the whole batch can be claimed.
        const got = new Set(extra.map((e) => e.subscriberId));
        const elsewhere = await call(stillActiveAnywhere(missing.filter((m) => !got.has(m.subscriberId)).map((m) => m.subscriberId)));
        for (const m of missing) if (elsewhere.has(m.subscriberId)) incomplete.add(m.batchKey!);
      }
    }

    const byKey = new Map(found.map((d) => [`${d.subscriberId}:${d.run}:${d.lessonNumber}`, d]));
    const pending: Pending[] = rows.flatMap((row) => {
      const delivery = byKey.get(`${row.subscriberId}:${row.run}:${row.lessonNumber}`);
      return delivery ? [{ row, delivery }] : [];
    });

    // Recorded as sent before a pass died: move on without sending again.
    const recovered = pending.filter((p) => SENT_STATUSES.has(p.delivery.status));
    if (recovered.length > 0) {
      await call(advanceEnrollments(db, passId, recovered.map((p) => advanceFrom(p.row, p.delivery.sentAt ?? now)), now, course.slug));
      report.recovered += recovered.length;
    }

    // Kept leased until the pass ends, so this pass does not claim them again and again.
    const waiting = pending.filter((p) => p.delivery.batchKey !== null && incomplete.has(p.delivery.batchKey));
    heldUntilEnd.push(...waiting.map((p) => p.row.subscriberId));

    const toSend = pending.filter((p) => !SENT_STATUSES.has(p.delivery.status) && !waiting.includes(p));
    // Anything else claimed (a subscriber deleted since the claim) stays leased to the end of the
    // pass rather than going back into the due set this pass would claim it from again.
    const used = new Set([...recovered, ...waiting, ...toSend].map((p) => p.row.subscriberId));
    heldUntilEnd.push(...rows.filter((row) => !used.has(row.subscriberId)).map((row) => row.subscriberId));
    // Composed concurrently: WebCrypto signs off the main thread, so the link tokens overlap.
    const composed = await Promise.all(
      toSend.map(async (p): Promise<Composed> => {
        const lesson = lessonOf(course, p.row.lessonNumber)!;
        return { ...p, email: await composeLessonEmail(config, lesson, await lessonTemplate(lesson, config, course), p.row, course) };
      }),
    );
    scheduled += composed.length;

    const batches = new Map<string, Batch>();
    const fresh: Composed[] = [];
    for (const c of composed) {
      const key = c.delivery.batchKey;
      if (key && isUncertain(c.delivery)) {
        const batch = batches.get(key) ?? { key, members: [] };
        batch.members.push(c);
        batches.set(key, batch);
      } else {
        fresh.push(c);
      }
    }
    const result = [...batches.values()];
    for (let i = 0; i < fresh.length; i += MAX_BATCH) result.push({ key: null, members: fresh.slice(i, i + MAX_BATCH) });
    return result;
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
      await call(finishUnsendable(db, passId, noLesson.map((row) => row.subscriberId), lessonCount, now, course.slug));
      // Anything else without a lesson (a number below 1) cannot be fixed here: hold it.
      heldUntilEnd.push(...noLesson.filter((row) => row.lessonNumber <= lessonCount).map((row) => row.subscriberId));
      logger.warn("dispatch_unsendable", { passId, rows: noLesson.length, reason: "no_such_lesson" });
    }
    if (again.length > 0) {
      heldUntilEnd.push(...again.map((row) => row.subscriberId));
      logger.error("dispatch_claimed_twice", { passId, rows: again.length });
    }
    report.unsendable += noLesson.length + again.length;
    return taken.filter((row) => !again.includes(row) && !noLesson.includes(row));
  }

  /** Of these subscribers, the ones still active (held by another pass, since we could not claim them). */
  async function stillActiveAnywhere(ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await db
      .select({ id: enrollments.subscriberId })
      .from(enrollments)
      .where(and(inArray(enrollments.subscriberId, ids), eq(enrollments.course, course.slug), eq(enrollments.state, "active")));
    return new Set(rows.map((r) => r.id));
  }

  // Without a subrequest budget (Node), the next batch is claimed and composed while the current
  // one is with the provider: at most one in flight. With one (Workers), batches go one at a time
  // so every call is counted before it is made.
  const pipelined = !Number.isFinite(budget.maxSubrequests);
  let sending: Promise<SendOutcome> = Promise.resolve("ok");
  for (;;) {
    const room = Math.min(batchSize, budget.maxEmails - scheduled);
    if (room <= 0) {
      report.stoppedBy = "emails";
      break;
    }
    if (remainingMs() <= 0 || options.signal?.aborted) {
      report.stoppedBy = options.signal?.aborted ? "aborted" : "time";
      break;
    }
    if (!fits(PREPARE_CALLS + SEND_CALLS)) {
      report.stoppedBy = "subrequests";
      break;
    }
    const batches = await prepare(room);
    const previous = await sending;
    if (previous !== "ok" || options.signal?.aborted) {
      if (previous === "ok") report.stoppedBy = "aborted";
      if (batches) await call(releaseLeases(db, passId, batches.flatMap((b) => b.members.map((m) => m.row.subscriberId)), course.slug));
      sending = Promise.resolve(previous);
      break;
    }
    if (!batches) break;
    const requested = new Promise<void>((resolve) => (onProviderCall = resolve));
    sending = sendAll(batches);
    // Handled here so a failure isn't reported as unhandled while the next batch is prepared;
    // awaiting `sending` still throws it.
    sending.catch(() => {});
    if (!pipelined) await sending;
    // Prepare the next batch only once this one is on its way, so its last checks are not kept
    // waiting behind the next batch's work.
    else await Promise.race([requested, sending]);
  }
  const last = await sending;
  if (last === "rate_limited" || last === "provider_refused") report.stoppedBy = last;
  if (last === "out_of_budget") report.stoppedBy = "subrequests";
  // The rows kept for an incomplete batch: free for the next pass (the budget keeps room for this).
  if (heldUntilEnd.length > 0) await call(releaseLeases(db, passId, heldUntilEnd, course.slug));

  report.durationMs = wallClock() - started;
  logger.info("dispatch_pass", { ...report });
  return report;
}

