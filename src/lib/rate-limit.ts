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
  const [row] = await db
    .insert(rateLimits)
    .values({ key, windowStart: now, count: 1 })
    .onConflictDoUpdate({ target: rateLimits.key, set: countedHit(rule, now) })
    .returning({ count: rateLimits.count, windowStart: rateLimits.windowStart });
  return resultOf(row?.count ?? 1, row?.windowStart ?? now, rule, now);
}

/** An existing counter after one more hit: counted on within its window, started over after it. */
function countedHit(rule: RateLimitRule, now: number) {
  const windowOpen = sql`${rateLimits.windowStart} > ${now - rule.windowMs}`;
  return {
    count: sql`CASE WHEN ${windowOpen} THEN ${rateLimits.count} + 1 ELSE 1 END`,
    windowStart: sql`CASE WHEN ${windowOpen} THEN ${rateLimits.windowStart} ELSE ${now} END`,
  };
}

/** A counter's state read back after a hit, against its rule. */
function resultOf(count: number, windowStart: number, rule: RateLimitRule, now: number): RateLimitResult {
  return { allowed: count <= rule.limit, count, retryAfterSeconds: Math.max(1, Math.ceil((windowStart + rule.windowMs - now) / 1000)) };
}

/**
 * Counts hits against several limits in order, in one database round trip (one batch, one
 * transaction): each key is counted only while every key before it is within its rule, so a
 * client over its limit writes nothing to the counters after it (no row per address it tries, and
 * nothing a concurrent request for that address could see). Returns one result per key counted,
 * in order: fewer than `hits` when a limit stopped the count (the last result is the one refused).
 * Each upsert is as `hitRateLimit`'s, under SQLite's write lock.
 */
export async function hitRateLimitsInOrder(db: Db, hits: { key: string; rule: RateLimitRule }[], now: number): Promise<RateLimitResult[]> {
  const statements = hits.map(({ key, rule }, i) => {
    const hit = countedHit(rule, now);
    // Within every earlier rule (their rows were written by the statements before this one).
    const earlierAllowed = sql.join(
      hits.slice(0, i).map((earlier) => sql`(select count from rate_limits where key = ${earlier.key}) <= ${earlier.rule.limit}`),
      sql` and `,
    );
    return db.run(sql`insert into rate_limits (key, window_start, count)
      select ${key}, ${now}, 1 where ${i === 0 ? sql`1` : earlierAllowed}
      on conflict (key) do update set
        count = ${hit.count},
        window_start = ${hit.windowStart}
      returning count, window_start`);
  });
  const answers = await db.batch(statements as [(typeof statements)[number], ...typeof statements]);
  const results: RateLimitResult[] = [];
  for (const [i, answer] of answers.entries()) {
    const row = answer.rows[0];
    if (!row) break;
    results.push(resultOf(Number(row.count), Number(row.window_start), hits[i]!.rule, now));
  }
  return results;
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
