import { and, eq, inArray } from "drizzle-orm";
import type { AppDeps } from "../app-env";
import { LESSON_COUNT, lessonByNumber } from "../course";
import {
  advanceEnrollments,
  claimDue,
  endExpiredPauses,
  markSent,
  releaseLeases,
  stillActive,
  upsertDeliveries,
  type Advance,
  type ClaimedRow,
  type Delivery,
} from "../db/drip-queries";
import { deliveries, enrollments } from "../db/schema";
import { newId } from "../lib/ids";
import { MAX_BATCH, type MailError, type OutgoingEmail } from "../mail/mailer";
import { composeLessonEmail, lessonTemplate } from "./lesson-email";
import { nextLessonDueAt } from "./schedule";

/**
 * One dispatcher pass: claim due enrollments in bounded batches, write a delivery row before each
 * send, send through the provider's batch endpoint with an idempotency key, then advance each
 * subscriber to their next lesson. Safe to run concurrently and to re-run after a crash.
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
  budget?: Partial<DispatchBudget>;
  /** Claim size; at most the provider's batch limit. */
  batchSize?: number;
  /** How long a claim is held before another pass may take it over. */
  leaseMs?: number;
  /** Attempts before a delivery is marked failed. */
  maxAttempts?: number;
  passId?: string;
  sleep?: (ms: number) => Promise<void>;
}

export type StopReason = "done" | "emails" | "time" | "subrequests" | "rate_limited";

export interface DispatchReport {
  passId: string;
  claimed: number;
  sent: number;
  retried: number;
  failed: number;
  cancelled: number;
  /** Lessons found already sent (a pass died after sending): the subscriber was advanced, nothing resent. */
  recovered: number;
  resumed: number;
  durationMs: number;
  stoppedBy: StopReason;
}

const SENT_STATUSES = new Set<Delivery["status"]>(["sent", "delivered", "delivery_delayed", "opened", "clicked", "bounced", "complained"]);
const DEFAULT_LEASE_MS = 5 * 60 * 1000;
const DEFAULT_MAX_ATTEMPTS = 8;
/** Database calls one batch makes (claim, upsert, re-check, mark batch, record outcome) plus the provider call. */
const CALLS_PER_BATCH = 6;

/** Exponential backoff: 1, 2, 4 … minutes, capped at an hour. */
export function backoffMs(attempts: number): number {
  return Math.min(60 * 60 * 1000, 60 * 1000 * 2 ** Math.max(0, attempts - 1));
}

/** The idempotency key of a batch: a digest of its members, so only the very same batch can match it. */
export async function batchKey(members: { subscriberId: string; run: number; lessonNumber: number }[]): Promise<string> {
  const ids = members.map((m) => `${m.subscriberId}:${m.run}:${m.lessonNumber}`).sort().join(",");
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

export async function runDispatch(deps: AppDeps, options: DispatchOptions = {}): Promise<DispatchReport> {
  const { db, mailer, clock, config, logger } = deps;
  const budget: DispatchBudget = {
    maxEmails: options.budget?.maxEmails ?? config.dispatchBudget.maxEmails,
    maxMs: options.budget?.maxMs ?? config.dispatchBudget.maxMs,
    maxSubrequests: options.budget?.maxSubrequests ?? config.dispatchBudget.maxSubrequests,
  };
  const batchSize = Math.min(MAX_BATCH, options.batchSize ?? MAX_BATCH);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const passId = options.passId ?? newId();
  const started = Date.now();
  const report: DispatchReport = { passId, claimed: 0, sent: 0, retried: 0, failed: 0, cancelled: 0, recovered: 0, resumed: 0, durationMs: 0, stoppedBy: "done" };
  let calls = 0;

  report.resumed = await endExpiredPauses(db, clock());
  calls++;

  /** Marks a delivered batch sent and moves each subscriber on to their next lesson. */
  async function recordSent(batch: Pending[], ids: (string | null)[]) {
    const now = clock();
    await db.batch([
      markSent(db, batch.map((p, i) => ({ deliveryId: p.delivery.id, providerMessageId: ids[i] ?? null })), now),
      advanceEnrollments(db, passId, batch.map((p) => advanceFrom(p.row, now)), now),
    ]);
  }

  function advanceFrom(row: ClaimedRow, sentAt: number): Advance {
    const lesson = lessonByNumber(row.lessonNumber);
    const next = lessonByNumber(row.lessonNumber + 1);
    const nextSendAt =
      lesson && next
        ? nextLessonDueAt({ lastSentAt: sentAt, daysAfter: next.dayOffset - lesson.dayOffset, timeZone: row.timeZone, sendHour: config.sendHour })
        : null;
    return { subscriberId: row.subscriberId, lessonNumber: row.lessonNumber, nextSendAt };
  }

  /** A failed attempt: retry later with backoff, or give up on this subscriber for now. */
  async function recordFailure(batch: Pending[], error: MailError) {
    const now = clock();
    const reason = `${error.status ?? "network"} ${error.name}: ${error.message}`.slice(0, 500);
    const statements = batch.map((p) => {
      const attempts = p.delivery.attempts + 1;
      const giveUp = !error.retryable || attempts >= maxAttempts;
      if (giveUp) report.failed++;
      else report.retried++;
      const delay = Math.max(backoffMs(attempts), error.retryAfterMs ?? 0);
      return [
        db.update(deliveries).set({ status: giveUp ? "failed" : "retrying", attempts, lastError: reason, updatedAt: now }).where(eq(deliveries.id, p.delivery.id)),
        db
          .update(enrollments)
          .set(giveUp ? { state: "failed", nextSendAt: null, leaseId: null, leaseUntil: null, updatedAt: now } : { nextSendAt: now + delay, leaseId: null, leaseUntil: null, updatedAt: now })
          .where(and(eq(enrollments.subscriberId, p.row.subscriberId), eq(enrollments.leaseId, passId))),
      ] as const;
    });
    const [first, ...rest] = statements.flat();
    if (first) await db.batch([first, ...rest]);
  }

  /** Sends one batch (≤ 100) and records the outcome. */
  async function sendGroup(group: Composed[]): Promise<"ok" | "rate_limited"> {
    const key = await batchKey(group.map((c) => c.row));
    await db.update(deliveries).set({ batchKey: key, status: "sending" }).where(inArray(deliveries.id, group.map((c) => c.delivery.id)));
    calls += 2;
    const result = await mailer.sendBatch(group.map((c) => c.email), { idempotencyKey: key });
    if (result.ok) {
      await recordSent(group, result.ids);
      report.sent += group.length;
      if (result.rateLimit && result.rateLimit.remaining <= 0) await sleep(Math.min(result.rateLimit.resetMs, remainingMs()));
      return "ok";
    }
    // The provider has already accepted this exact batch (the key is a digest of its members):
    // an earlier attempt went through even though we never saw the answer.
    if (result.error.name === "invalid_idempotent_request") {
      await recordSent(group, group.map(() => null));
      report.sent += group.length;
      return "ok";
    }
    // One bad address fails a whole batch; send each alone so only that subscriber stops.
    if (!result.error.retryable && group.length > 1) {
      for (const one of group) if ((await sendGroup([one])) === "rate_limited") return "rate_limited";
      return "ok";
    }
    await recordFailure(group, result.error);
    logger.warn("dispatch_send_failed", { passId, emails: group.length, status: result.error.status, reason: result.error.name, retryable: result.error.retryable });
    return result.error.status === 429 ? "rate_limited" : "ok";
  }

  /** Sends the prepared batches one after another; after a 429 the rest go back unsent. */
  async function sendAll(groups: Composed[][]): Promise<boolean> {
    for (const [index, group] of groups.entries()) {
      if ((await sendGroup(group)) === "rate_limited") {
        await releaseLeases(db, passId, groups.slice(index + 1).flat().map((c) => c.row.subscriberId));
        return true;
      }
    }
    return false;
  }

  /**
   * Claims the next batch and gets it ready to send: delivery rows written, state re-checked,
   * emails composed. Returns null when nothing is due.
   */
  async function prepare(room: number): Promise<Composed[][] | null> {
    const now = clock();
    const claimed = await claimDue(db, passId, now, leaseMs, room);
    calls++;
    if (claimed.length === 0) return null;
    report.claimed += claimed.length;

    const rows = await upsertDeliveries(db, claimed, newId, now);
    calls++;
    const byKey = new Map(rows.map((d) => [`${d.subscriberId}:${d.run}:${d.lessonNumber}`, d]));
    const pending: Pending[] = claimed.map((row) => ({ row, delivery: byKey.get(`${row.subscriberId}:${row.run}:${row.lessonNumber}`)! }));

    // Sent before a pass died and never recorded: move on without sending again.
    for (const p of pending.filter((p) => SENT_STATUSES.has(p.delivery.status))) {
      const sentAt = p.delivery.sentAt ?? now;
      await advanceEnrollments(db, passId, [advanceFrom(p.row, sentAt)], sentAt);
      report.recovered++;
    }

    // State is checked again before sending: a pause or unsubscribe that landed after the claim
    // still wins.
    const toSend = pending.filter((p) => !SENT_STATUSES.has(p.delivery.status) && p.row.lessonNumber <= LESSON_COUNT);
    const active = await stillActive(db, passId, toSend.map((p) => p.row.subscriberId));
    calls++;
    const dropped = toSend.filter((p) => !active.has(p.row.subscriberId));
    if (dropped.length > 0) {
      await db.update(deliveries).set({ status: "cancelled", batchKey: null, updatedAt: now }).where(inArray(deliveries.id, dropped.map((p) => p.delivery.id)));
      await releaseLeases(db, passId, dropped.map((p) => p.row.subscriberId));
      report.cancelled += dropped.length;
    }

    // Composed concurrently: WebCrypto signs off the main thread, so the link tokens overlap.
    const composed = await Promise.all(
      toSend
        .filter((p) => active.has(p.row.subscriberId))
        .map(async (p): Promise<Composed> => {
          const lesson = lessonByNumber(p.row.lessonNumber)!;
          return { ...p, email: await composeLessonEmail(config, lesson, await lessonTemplate(lesson, config), p.row) };
        }),
    );
    scheduled += composed.length;

    // Members of an earlier failed batch go out together again, so the same key still matches.
    const groups = new Map<string, Composed[]>();
    for (const c of composed) {
      const key = c.delivery.batchKey ?? "new";
      groups.set(key, [...(groups.get(key) ?? []), c]);
    }
    return [...groups.values()];
  }

  const remainingMs = () => Math.max(0, budget.maxMs - (Date.now() - started));
  let scheduled = 0;

  // While one batch is with the provider, the next is claimed and composed: at most one in flight.
  let sending: Promise<boolean> = Promise.resolve(false);
  for (;;) {
    const room = Math.min(batchSize, budget.maxEmails - scheduled);
    if (room <= 0) {
      report.stoppedBy = "emails";
      break;
    }
    if (remainingMs() <= 0) {
      report.stoppedBy = "time";
      break;
    }
    if (calls + CALLS_PER_BATCH > budget.maxSubrequests) {
      report.stoppedBy = "subrequests";
      break;
    }
    const groups = await prepare(room);
    if (await sending) {
      if (groups) await releaseLeases(db, passId, groups.flat().map((c) => c.row.subscriberId));
      report.stoppedBy = "rate_limited";
      sending = Promise.resolve(false);
      break;
    }
    if (!groups) break;
    sending = sendAll(groups);
    // Handled here so a failure isn't reported as unhandled while the next batch is prepared;
    // the `await sending` above or below still throws it.
    sending.catch(() => {});
  }
  if (await sending) report.stoppedBy = "rate_limited";

  report.durationMs = Date.now() - started;
  logger.info("dispatch_pass", { ...report });
  return report;
}
