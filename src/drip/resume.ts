import { claimUncertainBatch, leaseToBatch, settleBatch, stillActiveMembers, type SendBatch } from "../db/batch-queries";
import { compose } from "./compose";
import { call, lease, RESUME_CALLS, stopReason, type Batch, type Pass, type SendOutcome } from "./pass";
import { settleEmpty } from "./record";
import { sendBatch } from "./send";

/**
 * The first step of a pass: batches whose outcome is unknown (timeout, 5xx, crash), resent from
 * their own rows with their own keys, never rebuilt from enrollments.
 */

/** Resend keeps an idempotency key 24 hours; past 23 an unknown batch is held, never resent blind. */
export const HOLD_AFTER_MS = 23 * 60 * 60 * 1000;

/** Resends every uncertain batch whose time has come, one at a time, while the budget lasts. */
export async function resumeUncertain(pass: Pass): Promise<SendOutcome> {
  while (stopReason(pass, RESUME_CALLS) === null) {
    const row = await call(pass, claimUncertainBatch(pass.db, lease(pass), pass.clock(), pass.course.slug));
    if (!row) return "ok";
    const outcome = await resumeBatch(pass, row);
    if (outcome !== "ok") return outcome;
  }
  return "ok";
}

/** One uncertain batch: held if its key's window is nearly over, else resent with the same key to its still-active members. */
async function resumeBatch(pass: Pass, row: SendBatch): Promise<SendOutcome> {
  if (row.firstAttemptAt !== null && pass.wallClock() - row.firstAttemptAt >= HOLD_AFTER_MS) return holdBatch(pass, row);
  const members = compose(pass, await call(pass, stillActiveMembers(pass.db, row.id)));
  const batch: Batch = { id: row.id, resumed: true, attempts: row.attempts, members };
  if (members.length === 0) return settleEmpty(pass, batch);
  return sendBatch(pass, batch);
}

/**
 * Resend may have forgotten the key: a resend could mail everyone twice. The batch is held for the
 * operator (console, logs), its members' lessons with it: not sent, not skipped.
 */
async function holdBatch(pass: Pass, row: SendBatch): Promise<SendOutcome> {
  const { db, course } = pass;
  const now = pass.clock();
  await call(pass, db.batch([settleBatch(db, row.id, "held", now), leaseToBatch(db, row.id, course.slug, [row.id], pass.wallClock())]));
  pass.report.held++;
  pass.logger.error("dispatch_batch_held", { passId: pass.passId, batchId: row.id, course: course.slug, attempts: row.attempts, reason: "key_window_ending" });
  return "ok";
}
