import { and, eq, inArray, sql } from "drizzle-orm";
import { freeMembers, leaseToBatch, settleBatch } from "../db/batch-queries";
import { advanceEnrollments, markSent, releaseLeases, settleKey, type Advance, type ClaimedRow } from "../db/drip-queries";
import { deliveries, enrollments } from "../db/schema";
import { completedEventsInsert, sentEventsInsert } from "../events/record";
import { maskPersonalData } from "../lib/logger";
import { afterLessonSent, FAILED_ENROLLMENT, type EnrollmentFacts } from "../lifecycle/machine";
import { sendHourOf, step } from "../lifecycle/store";
import type { BatchResult, MailError } from "../mail/mailer";
import { backoffMs, call, holderOf, releaseStatement, remainingMs, storeContext, subscribersOf, type Batch, type Composed, type Pass, type Pending, type SendOutcome } from "./pass";

/**
 * The record step of a pass: what the provider's answer (or its absence) means for the delivery,
 * enrollment and batch rows. Each writer is one statement batch (one call), so a crash between
 * writers leaves rows that the next pass can read: a batch `sending` or `retrying` is resumed.
 */

/**
 * The lifecycle's "sent" step for a row this pass holds (active, at this lesson). The schedule
 * maths (time zones, luxon) costs tens of µs, and the members of one batch, sent at one time,
 * share their inputs zone by zone: `schedules` (one per batch) keeps each computation for the rest.
 */
export function advanceFrom(pass: Pass, row: ClaimedRow, sentAt: number, schedules: Map<string, Partial<EnrollmentFacts>>): Advance {
  const sendHour = sendHourOf(row, pass.course.sendHour ?? pass.config.sendHour);
  // The previous lesson's time only feeds lastSentAt (below), not the schedule: leaving it out of the
  // key lets every member sent together in one zone share one computation.
  const key = `${row.timeZone}\n${sendHour}\n${row.lessonNumber}\n${sentAt}`;
  let fields = schedules.get(key);
  if (!fields) {
    fields = afterLessonSent(
      { state: "active", run: row.run, nextLesson: row.lessonNumber, nextSendAt: null, lastSentAt: null, pausedUntil: null, startedAt: 0, completedAt: null },
      row.timeZone,
      row.lessonNumber,
      sentAt,
      { sendHour, course: pass.shape },
    );
    schedules.set(key, fields);
  }
  return {
    subscriberId: row.subscriberId,
    run: row.run,
    lessonNumber: row.lessonNumber,
    next: {
      nextLesson: fields.nextLesson!,
      lastSentAt: Math.max(row.lastSentAt ?? sentAt, sentAt),
      nextSendAt: fields.nextSendAt ?? null,
      state: fields.state === "completed" ? "completed" : "active",
      completedAt: fields.completedAt ?? null,
    },
  };
}

/**
 * Lessons that went out after a control took the row (a pause, an unsubscribe or a restart that
 * landed while the lesson was with the provider): recorded through the lifecycle, so the 20-hour
 * rule and the next lesson account for them.
 */
async function recordTaken(pass: Pass, batch: Pending[], advanced: Set<string>, sentAt: number) {
  for (const p of batch.filter((m) => !advanced.has(m.row.subscriberId))) {
    pass.report.calls += 4;
    await step(pass.db, p.row.subscriberId, { kind: "sent", run: p.row.run, lesson: p.row.lessonNumber, sentAt }, storeContext(pass, sentAt), { dropLease: false });
  }
}

/**
 * Records that `members` of `batch` were sent, and settles the batch: with `everyone` (a 409
 * proved the first attempt went out) every member still waiting on it is sent too; otherwise the
 * key was unused before, so the others never got it and are freed for a new batch.
 */
export async function recordSent(pass: Pass, batch: Batch, members: Composed[], ids: (string | null)[], everyone: boolean) {
  const { db, course } = pass;
  const now = pass.clock();
  const schedules = new Map<string, Partial<EnrollmentFacts>>();
  const [, , advanced] = await call(
    pass,
    db.batch([
      // Events hook (issue 14): `lesson.sent` before the rows turn sent, `enrollment.completed` after.
      sentEventsInsert(db, members.map((p) => p.delivery.id), batch.id, everyone, now),
      markSent(db, members.map((p, i) => ({ deliveryId: p.delivery.id, providerMessageId: ids[i] ?? null })), now),
      advanceEnrollments(db, holderOf(pass, batch), members.map((p) => advanceFrom(pass, p.row, now, schedules)), now, course.slug),
      completedEventsInsert(db, subscribersOf(members), now, course.slug),
      settleKey(db, batch.id, everyone, now),
      settleBatch(db, batch.id, "sent", now),
    ]),
  );
  pass.report.sent += members.length;
  await recordTaken(pass, members, new Set(advanced.rows.map((row) => String(row.subscriber_id))), now);
}

/** What an error says, for `last_error`: no personal data, at most 500 characters. */
const reasonOf = (error: MailError) => maskPersonalData(`${error.status ?? "network"} ${error.name}: ${error.message}`).slice(0, 500);

/**
 * A definitive refusal: these members were not sent. Retry later with backoff, or, past the cap
 * or for a bad address, give up. `retire`: the batch whose key is retired with it.
 */
export async function recordFailure(pass: Pass, members: Pending[], error: MailError, holder: string | null, retire?: string) {
  const { db, course, report } = pass;
  const now = pass.clock();
  const reason = reasonOf(error);
  const held = holder === null ? sql`1 = 1` : eq(enrollments.leaseId, holder);
  const statements = members.flatMap((p) => {
    const attempts = p.delivery.attempts + 1;
    const giveUp = error.kind === "recipient" || attempts >= pass.maxAttempts;
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
  if (first) await call(pass, db.batch([first, ...rest]));
}

/**
 * The answer is unknown (timeout, 5xx, network): the lesson may have gone out. The batch waits
 * for its next attempt under the same key; its members' enrollments wait with it (leased to the
 * batch, out of the due set). Past the attempt cap it gives up and its members fail.
 */
export async function recordUncertain(pass: Pass, batch: Batch, members: Composed[], error: MailError) {
  const { db, course, passId, report } = pass;
  const now = pass.clock();
  const attempts = batch.attempts + 1;
  const ids = members.map((m) => m.delivery.id);
  const giveUp = attempts >= pass.maxAttempts;
  const delay = Math.max(backoffMs(attempts), error.retryAfterMs ?? 0);
  const mine = and(eq(enrollments.course, course.slug), inArray(enrollments.subscriberId, subscribersOf(members)), holderOf(pass, batch) === null ? undefined : eq(enrollments.leaseId, passId));
  await call(
    pass,
    db.batch([
      db
        .update(deliveries)
        .set({ status: giveUp ? "failed" : "retrying", attempts: sql`${deliveries.attempts} + 1`, lastError: reasonOf(error), updatedAt: now })
        .where(inArray(deliveries.id, ids)),
      giveUp
        ? db.update(enrollments).set({ ...FAILED_ENROLLMENT, leaseId: null, leaseUntil: null, updatedAt: now }).where(mine)
        : db.update(enrollments).set({ nextSendAt: now + delay, updatedAt: now }).where(mine),
      leaseToBatch(db, batch.id, course.slug, [passId, batch.id], pass.wallClock()),
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
export async function recordDropped(pass: Pass, batch: Batch, dropped: Composed[]) {
  pass.report.cancelled += dropped.length;
  if (batch.resumed) return;
  await call(pass, pass.db.update(deliveries).set({ status: "cancelled", updatedAt: pass.clock() }).where(inArray(deliveries.id, dropped.map((m) => m.delivery.id))));
  await call(pass, releaseLeases(pass.db, pass.passId, subscribersOf(dropped), pass.course.slug));
}

/**
 * No member left to send: a new batch's key was never used (retired); a resumed one waits for
 * its members' answer (they may come back) until it is held.
 */
export async function settleEmpty(pass: Pass, batch: Batch): Promise<SendOutcome> {
  const now = pass.clock();
  await call(pass, settleBatch(pass.db, batch.id, batch.resumed ? "retrying" : "failed", now, batch.resumed ? now + backoffMs(batch.attempts) : null));
  return "ok";
}

/** The provider took the batch: record the sent, and fail only the emails it refused on their own. */
export async function recordAccepted(pass: Pass, batch: Batch, result: Extract<BatchResult, { ok: true }>): Promise<SendOutcome> {
  const refused = new Map((result.rejected ?? []).map((r) => [r.index, r.error]));
  const accepted = batch.members.filter((_, i) => !refused.has(i));
  await recordSent(pass, batch, accepted, result.ids.filter((_, i) => !refused.has(i)), false);
  // One statement batch per distinct refusal (usually one: an invalid `to`), so the calls stay few.
  const byReason = new Map<string, { error: MailError; members: Composed[] }>();
  for (const [index, error] of refused) {
    const group = byReason.get(`${error.kind} ${error.message}`) ?? { error, members: [] };
    group.members.push(batch.members[index]!);
    byReason.set(`${error.kind} ${error.message}`, group);
  }
  for (const group of byReason.values()) await recordFailure(pass, group.members, group.error, holderOf(pass, batch));
  if (refused.size > 0) pass.logger.warn("dispatch_emails_refused", { passId: pass.passId, batchId: batch.id, emails: refused.size });
  if (result.rateLimit && result.rateLimit.remaining <= 0) await pass.sleep(Math.min(result.rateLimit.resetMs, remainingMs(pass)));
  return "ok";
}

/**
 * The provider answered with an error: what it proves about the key decides what happens.
 * `send_each_alone`: one bad address refused a whole new (strict) batch; the caller retires its
 * key and sends each member alone, so only that subscriber stops.
 */
export async function recordRefused(pass: Pass, batch: Batch, error: MailError): Promise<SendOutcome | "send_each_alone"> {
  const { members } = batch;
  pass.logger.warn("dispatch_send_failed", { passId: pass.passId, batchId: batch.id, emails: members.length, status: error.status, reason: error.name, kind: error.kind });
  // The key was already used with another payload (members who left since): the first attempt went out.
  if (error.name === "invalid_idempotent_request") {
    await recordSent(pass, batch, members, members.map(() => null), true);
    return "ok";
  }
  if (error.kind === "rejected") return refusedByProvider(pass, batch, error);
  // An earlier attempt may have gone out: only the same key, later, can tell.
  if (batch.resumed || (error.kind === "transient" && error.status !== 429)) {
    await recordUncertain(pass, batch, members, error);
    return error.status === 429 ? "rate_limited" : "ok";
  }
  if (error.kind === "recipient" && members.length > 1) return "send_each_alone";
  // A definitive refusal of a new batch: nothing went out, so its key is retired.
  await recordFailure(pass, members, error, pass.passId, batch.id);
  return error.status === 429 ? "rate_limited" : "ok";
}

/**
 * Our key, domain or request is refused: nobody can be mailed until an operator acts. Keep
 * everyone's place (no attempt counted) and stop the pass. A new batch's key is retired; a resumed
 * one keeps its own and waits.
 */
async function refusedByProvider(pass: Pass, batch: Batch, error: MailError): Promise<SendOutcome> {
  const { db } = pass;
  const now = pass.clock();
  if (batch.resumed) await call(pass, settleBatch(db, batch.id, "retrying", now, now + backoffMs(batch.attempts + 1)));
  else await call(pass, db.batch([freeMembers(db, batch.id, now), settleBatch(db, batch.id, "failed", now), releaseStatement(pass, subscribersOf(batch.members))]));
  pass.logger.error("dispatch_provider_refused", { passId: pass.passId, status: error.status, reason: error.name, message: maskPersonalData(error.message).slice(0, 200) });
  return "provider_refused";
}
