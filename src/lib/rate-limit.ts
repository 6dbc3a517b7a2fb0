import { eq, lte, sql } from "drizzle-orm";
import type { Db } from "../db/client";
import { rateLimits } from "../db/schema";

/**
 * Fixed-window counters in the database, so the limits hold across Node processes and Worker
 * isolates alike (memory would be per isolate). A key's window opens at its first hit and lasts
 * `windowMs`; the first hit after it has run out opens a new one. Keys are keyed hashes, never
 * raw IP addresses or email addresses.
 */

export interface RateLimitRule {
  limit: number;
  windowMs: number;
}

export interface RateLimitResult {
  allowed: boolean;
  /** Hits in the current window, this one included. */
  count: number;
  /** Whole seconds until the window ends, for `Retry-After`. */
  retryAfterSeconds: number;
}

/**
 * Counts one hit against `key` and says whether it is within the rule. One upsert statement, so
 * concurrent requests cannot both read the same count: SQLite runs it under its write lock. The
 * SET expressions see the row as it was before the statement.
 */
export async function hitRateLimit(db: Db, key: string, rule: RateLimitRule, now: number): Promise<RateLimitResult> {
  const windowOpen = sql`${rateLimits.windowStart} > ${now - rule.windowMs}`;
  const [row] = await db
    .insert(rateLimits)
    .values({ key, windowStart: now, count: 1 })
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN ${windowOpen} THEN ${rateLimits.count} + 1 ELSE 1 END`,
        windowStart: sql`CASE WHEN ${windowOpen} THEN ${rateLimits.windowStart} ELSE ${now} END`,
      },
    })
    .returning({ count: rateLimits.count, windowStart: rateLimits.windowStart });
  const count = row?.count ?? 1;
  const windowStart = row?.windowStart ?? now;
  return {
    allowed: count <= rule.limit,
    count,
    retryAfterSeconds: Math.max(1, Math.ceil((windowStart + rule.windowMs - now) / 1000)),
  };
}

/**
 * Counts one hit against each of several keys (distinct) in ONE statement, so a request that is
 * subject to several limits pays one database round trip instead of one per limit; otherwise as
 * `hitRateLimit`: each row's window and count move under SQLite's write lock, atomically. Results
 * in the order of `hits`.
 */
export async function hitRateLimits(db: Db, hits: { key: string; rule: RateLimitRule }[], now: number): Promise<RateLimitResult[]> {
  // Each key's own window: "still open" compares the stored start with now minus that key's length.
  const openSince = sql.join([sql`case ${rateLimits.key}`, ...hits.map(({ key, rule }) => sql`when ${key} then ${now - rule.windowMs}`), sql`end`], sql` `);
  const windowOpen = sql`${rateLimits.windowStart} > (${openSince})`;
  const rows = await db
    .insert(rateLimits)
    .values(hits.map(({ key }) => ({ key, windowStart: now, count: 1 })))
    .onConflictDoUpdate({
      target: rateLimits.key,
      set: {
        count: sql`CASE WHEN ${windowOpen} THEN ${rateLimits.count} + 1 ELSE 1 END`,
        windowStart: sql`CASE WHEN ${windowOpen} THEN ${rateLimits.windowStart} ELSE ${now} END`,
      },
    })
    .returning({ key: rateLimits.key, count: rateLimits.count, windowStart: rateLimits.windowStart });
  return hits.map(({ key, rule }) => {
    const row = rows.find((r) => r.key === key);
    const count = row?.count ?? 1;
    const windowStart = row?.windowStart ?? now;
    return { allowed: count <= rule.limit, count, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + rule.windowMs - now) / 1000)) };
  });
}

/**
 * Takes back one hit counted by `hitRateLimit` for an attempt that did not happen after all (the
 * provider refused the email), so failures never use up a limit meant for emails people received.
 * Never below zero; a window that has been reset meanwhile loses at most that one hit.
 */
export async function releaseRateLimit(db: Db, key: string): Promise<void> {
  await db
    .update(rateLimits)
    .set({ count: sql`max(${rateLimits.count} - 1, 0)` })
    .where(eq(rateLimits.key, key));
}

/** Drops counters whose window ended long ago (the longest window we use is a day). */
export async function pruneRateLimits(db: Db, now: number, olderThanMs = 2 * 24 * 60 * 60 * 1000): Promise<void> {
  await db.delete(rateLimits).where(lte(rateLimits.windowStart, now - olderThanMs));
}
