import { and, eq, isNull, lte } from "drizzle-orm";
import type { AppDeps } from "../app-env";
import { pruneRateLimits } from "../lib/rate-limit";
import type { Db } from "./client";
import { subscribers } from "./schema";

/**
 * What the service keeps, and for how long, beyond what people asked for.
 *
 * A signup nobody confirmed is an address someone typed into a form, not a person who asked for
 * mail: it is forgotten a week after the signup (the link itself expires after 48 hours), with no
 * suppression entry, so the address can sign up again like any other. Only addresses that never
 * confirmed go: a returning subscriber who signed up again and is pending keeps their history.
 */
export const UNCONFIRMED_SIGNUP_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/** Deletes never-confirmed signups older than the retention period; returns how many went. */
export async function forgetUnconfirmedSignups(db: Db, now: number): Promise<number> {
  const gone = await db
    .delete(subscribers)
    .where(and(eq(subscribers.status, "pending"), isNull(subscribers.confirmedAt), lte(subscribers.createdAt, now - UNCONFIRMED_SIGNUP_RETENTION_MS)))
    .returning({ id: subscribers.id });
  return gone.length;
}

/** Database calls one housekeeping run makes (Workers count them as subrequests). */
export const HOUSEKEEPING_CALLS = 2;

/**
 * Housekeeping run beside each dispatcher pass (Node timer, Worker cron): forgets unconfirmed
 * signups and drops rate-limit counters whose window (the longest configured one) has passed.
 * Logs counts only. On the embedded database, forgotten rows are also wiped from its files
 * (`afterErase`, src/node-deps.ts `walTruncator`).
 */
export async function runHousekeeping(deps: Pick<AppDeps, "db" | "clock" | "config" | "logger" | "afterErase">): Promise<void> {
  const now = deps.clock();
  const { perIp, perAddress } = deps.config.signupLimits;
  const forgotten = await forgetUnconfirmedSignups(deps.db, now);
  await pruneRateLimits(deps.db, now, Math.max(perIp.windowMs, perAddress.windowMs));
  if (forgotten > 0) {
    deps.logger.info("unconfirmed_signups_forgotten", { count: forgotten });
    // Forgotten means gone from disk too, not only from the tables: the embedded database's WAL
    // holds the old pages until its next automatic checkpoint (every 10,000 pages).
    await deps.afterErase?.();
  }
}
