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

  async function sendGroup(group: Pending[]): Promise<"ok" | "rate_limited"> {
    // Composed concurrently: WebCrypto signs off the main thread, so the link tokens overlap.
    const emails: OutgoingEmail[] = await Promise.all(
      group.map(async (p) => {
        const lesson = lessonByNumber(p.row.lessonNumber)!;
        return composeLessonEmail(config, lesson, await lessonTemplate(lesson, config), p.row);
      }),
    );
    const key = await batchKey(group.map((p) => p.row));
    await db.update(deliveries).set({ batchKey: key, status: "sending" }).where(inArray(deliveries.id, group.map((p) => p.delivery.id)));
    calls += 2;
    const result = await mailer.sendBatch(emails, { idempotencyKey: key });
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
      for (const p of group) if ((await sendGroup([p])) === "rate_limited") return "rate_limited";
      return "ok";
    }
    await recordFailure(group, result.error);
    logger.warn("dispatch_send_failed", { passId, emails: group.length, status: result.error.status, reason: result.error.name, retryable: result.error.retryable });
    return result.error.status === 429 ? "rate_limited" : "ok";
  }

  const remainingMs = () => Math.max(0, budget.maxMs - (Date.now() - started));

  for (;;) {
    const room = Math.min(batchSize, budget.maxEmails - report.sent);
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

    const now = clock();
    const claimed = await claimDue(db, passId, now, leaseMs, room);
    calls++;
    if (claimed.length === 0) break;
    report.claimed += claimed.length;

    const rows = await upsertDeliveries(db, claimed, newId, now);
    calls++;
    const byKey = new Map(rows.map((d) => [`${d.subscriberId}:${d.run}:${d.lessonNumber}`, d]));
    const pending: Pending[] = claimed.map((row) => ({ row, delivery: byKey.get(`${row.subscriberId}:${row.run}:${row.lessonNumber}`)! }));

    // Sent before a pass died and never recorded: move on without sending again.
    const alreadySent = pending.filter((p) => SENT_STATUSES.has(p.delivery.status));
    for (const p of alreadySent) {
      const sentAt = p.delivery.sentAt ?? now;
      await advanceEnrollments(db, passId, [advanceFrom(p.row, sentAt)], sentAt);
      report.recovered++;
    }

    // State is checked again just before sending: a pause or unsubscribe that landed after the
    // claim still wins.
    const toSend = pending.filter((p) => !SENT_STATUSES.has(p.delivery.status) && p.row.lessonNumber <= LESSON_COUNT);
    const active = await stillActive(db, passId, toSend.map((p) => p.row.subscriberId));
    calls++;
    const dropped = toSend.filter((p) => !active.has(p.row.subscriberId));
    if (dropped.length > 0) {
      await db.update(deliveries).set({ status: "cancelled", batchKey: null, updatedAt: now }).where(inArray(deliveries.id, dropped.map((p) => p.delivery.id)));
      await releaseLeases(db, passId, dropped.map((p) => p.row.subscriberId));
      report.cancelled += dropped.length;
    }

    // Members of an earlier failed batch go out together again, so the same key still matches.
    const groups = new Map<string, Pending[]>();
    for (const p of toSend.filter((p) => active.has(p.row.subscriberId))) {
      const key = p.delivery.batchKey ?? "new";
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }

    let rateLimited = false;
    const unsent: string[] = [];
    for (const group of groups.values()) {
      if (rateLimited) {
        unsent.push(...group.map((p) => p.row.subscriberId));
        continue;
      }
      rateLimited = (await sendGroup(group)) === "rate_limited";
    }
    if (rateLimited) {
      await releaseLeases(db, passId, unsent);
      report.stoppedBy = "rate_limited";
      break;
    }
  }

  report.durationMs = Date.now() - started;
  logger.info("dispatch_pass", { ...report });
  return report;
}
