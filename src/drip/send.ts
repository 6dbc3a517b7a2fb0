import { batchSending, freeMembers, insertBatch, settleBatch } from "../db/batch-queries";
import { markSending, releaseLeases } from "../db/drip-queries";
import type { BatchResult } from "../mail/mailer";
import { call, fits, holderOf, lease, newBatchId, remainingMs, SEND_CALLS, subscribersOf, type Batch, type Composed, type Pass, type SendOutcome } from "./pass";
import { recordAccepted, recordDropped, recordRefused, settleEmpty } from "./record";

/**
 * The send step of a pass: the last check, the provider call under the batch's key, and handing
 * the answer to the record step.
 */

/** A 429 asking us to wait this long or less is waited out inside the pass, a few times at most. */
const MAX_IN_PASS_WAIT_MS = 5_000;
const MAX_RATE_LIMIT_WAITS = 3;

/** Sends the prepared batches one after another; after a stop, the rest go back unsent. */
export async function sendAll(pass: Pass, batches: Batch[]): Promise<SendOutcome> {
  for (const [index, batch] of batches.entries()) {
    const outcome = fits(pass, SEND_CALLS) ? await sendBatch(pass, batch) : "out_of_budget";
    if (outcome !== "ok") {
      await call(pass, releaseLeases(pass.db, pass.passId, batches.slice(index + 1).flatMap((b) => subscribersOf(b.members)), pass.course.slug));
      return outcome;
    }
  }
  return "ok";
}

/** Sends one batch (≤ 100) and records the outcome. */
export async function sendBatch(pass: Pass, batch: Batch): Promise<SendOutcome> {
  let members = await markForSending(pass, batch);
  if (members.length === 0) return settleEmpty(pass, batch);
  let result = await providerCall(pass, members, batch.id);
  // A short rate-limit wait is cheaper than ending the pass: wait it out and ask once more under
  // the same key (a 429 refuses the request before anything is sent).
  for (let waits = 0; waits < MAX_RATE_LIMIT_WAITS && isShortRateLimit(pass, result); waits++) {
    if (!fits(pass, SEND_CALLS)) break;
    await pass.sleep(result.ok ? 0 : (result.error.retryAfterMs ?? 0));
    batch = { ...batch, attempts: batch.attempts + 1, members };
    // Anyone may have paused or left during the wait: the last check again, right before the call.
    members = await markForSending(pass, batch);
    if (members.length === 0) return settleEmpty(pass, batch);
    result = await providerCall(pass, members, batch.id);
  }
  batch = { ...batch, members };
  if (result.ok) return recordAccepted(pass, batch, result);
  const outcome = await recordRefused(pass, batch, result.error);
  return outcome === "send_each_alone" ? sendEachAlone(pass, batch) : outcome;
}

/**
 * Creates the batch's row if new, and marks it and its members as going out, keeping only members
 * still active (checked in the same transaction, right before sending: a pause or unsubscribe
 * that landed after the claim wins). Returns the members to send.
 */
async function markForSending(pass: Pass, batch: Batch): Promise<Composed[]> {
  const { db, course, passId } = pass;
  const now = pass.clock();
  const l = lease(pass);
  const lessons = new Set(batch.members.map((m) => m.row.lessonNumber));
  const results = await call(
    pass,
    db.batch([
      insertBatch(db, { id: batch.id, course: course.slug, lesson: lessons.size === 1 ? [...lessons][0]! : null }, l, now),
      batchSending(db, batch.id, passId, l.wallNow, now),
      markSending(db, holderOf(pass, batch), passId, batch.id, batch.members.map((m) => m.delivery.id), now),
    ]),
  );
  const marked = new Set(results[2].rows.map((row) => String(row.id)));
  const members = batch.members.filter((m) => marked.has(m.delivery.id));
  if (members.length < batch.members.length) await recordDropped(pass, batch, batch.members.filter((m) => !marked.has(m.delivery.id)));
  return members;
}

const isShortRateLimit = (pass: Pass, result: BatchResult) =>
  !result.ok && result.error.status === 429 && result.error.retryAfterMs !== undefined && result.error.retryAfterMs <= Math.min(MAX_IN_PASS_WAIT_MS, remainingMs(pass));

/**
 * Hands the batch to the provider under its key. The caller's last check (`markForSending`) comes
 * right before this with nothing in between; the next batch starts preparing once the request is out.
 */
function providerCall(pass: Pass, members: Composed[], key: string): Promise<BatchResult> {
  const answer = call(pass, () => pass.mailer.sendBatch(members.map((m) => m.email), { idempotencyKey: key, batchValidation: "permissive" }));
  // A timer turn lets the request start before this pass's other work competes for the thread.
  setTimeout(pass.onProviderCall, 0);
  return answer;
}

/** One bad address refused a whole (strict) batch: retire its key and send each alone, so only that subscriber stops. */
async function sendEachAlone(pass: Pass, batch: Batch): Promise<SendOutcome> {
  const { db, course } = pass;
  await call(pass, db.batch([freeMembers(db, batch.id, pass.clock()), settleBatch(db, batch.id, "failed", pass.clock())]));
  for (const [index, member] of batch.members.entries()) {
    const outcome = fits(pass, SEND_CALLS) ? await sendBatch(pass, { id: newBatchId(course.slug), resumed: false, attempts: 0, members: [member] }) : "out_of_budget";
    if (outcome !== "ok") {
      await call(pass, releaseLeases(db, pass.passId, subscribersOf(batch.members.slice(index + 1)), course.slug));
      return outcome;
    }
  }
  return "ok";
}
