import type { AppDeps } from "../app-env";
import type { Course } from "../course";
import { endExpiredPauses, releaseLeases } from "../db/drip-queries";
import { claimAndCompose } from "./claim";
import { call, createPass, PREPARE_CALLS, SEND_CALLS, stopReason, subscribersOf, type Pass, type SendOutcome } from "./pass";
import { resumeUncertain } from "./resume";
import { sendAll } from "./send";

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
 *
 * The steps live beside this file, each a function of the pass's state (`Pass`, pass.ts):
 * resume (resume.ts) → claim (claim.ts) → compose (compose.ts) → send (send.ts) → record (record.ts).
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

export async function runDispatch(deps: AppDeps, options: DispatchOptions = {}): Promise<DispatchReport> {
  const pass = createPass(deps, options);
  pass.report.resumed = await call(pass, endExpiredPauses(deps.db, deps.clock()));
  const outcome = await resumeUncertain(pass);
  const last = outcome === "ok" ? await sendDue(pass) : outcome;
  return finish(pass, last);
}

/**
 * Claims, composes and sends until nothing is due or a budget is spent. Without a subrequest
 * budget (Node), the next claim is prepared while the current batch is with the provider (at most
 * one in flight); with one (Workers), batches go one at a time so every call is counted first.
 */
async function sendDue(pass: Pass): Promise<SendOutcome> {
  const { budget, report } = pass;
  const pipelined = !Number.isFinite(budget.maxSubrequests);
  let sending: Promise<SendOutcome> = Promise.resolve("ok");
  for (;;) {
    const stop = stopReason(pass, PREPARE_CALLS + SEND_CALLS);
    if (stop) {
      report.stoppedBy = stop;
      break;
    }
    const batches = await claimAndCompose(pass, Math.min(pass.batchSize, budget.maxEmails - pass.scheduled));
    const previous = await sending;
    if (previous !== "ok" || pass.signal?.aborted) {
      if (previous === "ok") report.stoppedBy = "aborted";
      if (batches) await call(pass, releaseLeases(pass.db, pass.passId, batches.flatMap((b) => subscribersOf(b.members)), pass.course.slug));
      return previous;
    }
    if (!batches) break;
    const requested = new Promise<void>((resolve) => (pass.onProviderCall = resolve));
    sending = sendAll(pass, batches);
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
async function finish(pass: Pass, last: SendOutcome): Promise<DispatchReport> {
  const { report } = pass;
  if (last === "rate_limited" || last === "provider_refused") report.stoppedBy = last;
  if (last === "out_of_budget") report.stoppedBy = "subrequests";
  if (pass.heldUntilEnd.length > 0) await call(pass, releaseLeases(pass.db, pass.passId, pass.heldUntilEnd, pass.course.slug));
  report.durationMs = pass.wallClock() - pass.started;
  pass.logger.info("dispatch_pass", { ...report });
  return report;
}
