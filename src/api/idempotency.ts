import { and, eq, lte } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiIdempotency } from "../db/schema";
import { apiError } from "./errors";
import { sha256Hex } from "../lib/hash";

/**
 * `Idempotency-Key` for write requests, per API key (after Stripe's): the first request with a key
 * reserves it, runs, and stores its answer; a repeat within 24 hours gets that answer again without
 * running; the same key with another method, path or body is a 409. A repeat arriving while the
 * first is still running is a 409 too (retry it a moment later). A failed first request (an error
 * thrown) frees the key.
 */
const KEEP_MS = 24 * 60 * 60 * 1000;

export interface Replay {
  status: number;
  body: unknown;
}

export async function withIdempotency(
  db: Db,
  scope: { apiKeyId: string; key: string | undefined; request: string; now: number },
  run: () => Promise<Replay>,
): Promise<Replay> {
  if (scope.key === undefined) return run();
  const { apiKeyId, key, now } = scope;
  const requestHash = await sha256Hex(scope.request);
  await db.delete(apiIdempotency).where(lte(apiIdempotency.createdAt, now - KEEP_MS));
  const [reserved] = await db
    .insert(apiIdempotency)
    .values({ apiKeyId, key, requestHash, status: 0, body: "", createdAt: now })
    .onConflictDoNothing()
    .returning();
  const where = and(eq(apiIdempotency.apiKeyId, apiKeyId), eq(apiIdempotency.key, key));
  if (!reserved) {
    const existing = await db.query.apiIdempotency.findFirst({ where });
    if (!existing || existing.requestHash !== requestHash) {
      throw apiError("idempotency_conflict", "This Idempotency-Key was used with a different request. Use a new key for a new request.");
    }
    if (existing.status === 0) throw apiError("idempotency_conflict", "A request with this Idempotency-Key is still running. Retry in a moment.");
    return { status: existing.status, body: JSON.parse(existing.body) };
  }
  try {
    const result = await run();
    await db.update(apiIdempotency).set({ status: result.status, body: JSON.stringify(result.body) }).where(where);
    return result;
  } catch (error) {
    await db.delete(apiIdempotency).where(where);
    throw error;
  }
}
