import { desc, eq, isNull, or, and } from "drizzle-orm";
import type { Db } from "../db/client";
import { apiKeys, type ApiKeyScope } from "../db/schema";
import { randomSecret, sha256Hex } from "../lib/hash";
import { newId } from "../lib/ids";

/**
 * API keys: `ck_` and 43 characters of base64url (32 random bytes). Only the key's SHA-256 and its
 * first 11 characters (the prefix, for telling keys apart) are stored. Requests are matched by
 * looking up the hash of the presented key, so no stored secret is ever compared byte by byte with
 * the input (the comparison that could leak timing is between two hashes, and an attacker cannot
 * choose a hash's bytes). Keys have 256 bits of entropy, so an unsalted fast hash is enough.
 */

export type ApiKey = typeof apiKeys.$inferSelect;

const KEY_PREFIX = "ck_";
const PREFIX_LENGTH = 11;

/** SHA-256 of the key as lowercase hex: what is stored and looked up. */
export const hashApiKey = sha256Hex;

/** Creates a key; `key` is returned this once and is not recoverable afterwards. */
export async function createApiKey(db: Db, name: string, scope: ApiKeyScope, now: number): Promise<{ key: string; row: ApiKey }> {
  const key = KEY_PREFIX + randomSecret();
  const [row] = await db
    .insert(apiKeys)
    .values({ id: newId(), name, prefix: key.slice(0, PREFIX_LENGTH), hash: await hashApiKey(key), scope, createdAt: now })
    .returning();
  return { key, row: row! };
}

export async function listApiKeys(db: Db): Promise<ApiKey[]> {
  return db.select().from(apiKeys).orderBy(desc(apiKeys.createdAt));
}

/**
 * Revokes the key whose id or prefix is `idOrPrefix`. Returns the keys revoked now: none when
 * nothing matched or it was revoked already; a prefix that matches several keys revokes none and
 * says so (`ambiguous`).
 */
export async function revokeApiKey(db: Db, idOrPrefix: string, now: number): Promise<{ revoked: ApiKey[]; ambiguous: boolean }> {
  const matches = await db
    .select()
    .from(apiKeys)
    .where(and(or(eq(apiKeys.id, idOrPrefix), eq(apiKeys.prefix, idOrPrefix)), isNull(apiKeys.revokedAt)));
  if (matches.length > 1) return { revoked: [], ambiguous: true };
  if (matches.length === 0) return { revoked: [], ambiguous: false };
  const revoked = await db.update(apiKeys).set({ revokedAt: now }).where(eq(apiKeys.id, matches[0]!.id)).returning();
  return { revoked, ambiguous: false };
}

/** The key row a presented bearer token belongs to (revoked or not), or undefined. */
export async function findApiKey(db: Db, token: string): Promise<ApiKey | undefined> {
  if (!token.startsWith(KEY_PREFIX) || token.length > 200) return undefined;
  return db.query.apiKeys.findFirst({ where: eq(apiKeys.hash, await hashApiKey(token)) });
}

/** Records use at most once a minute per key, so reads do not turn into a write each. */
export async function touchApiKey(db: Db, key: ApiKey, now: number): Promise<void> {
  if (key.lastUsedAt !== null && now - key.lastUsedAt < 60_000) return;
  await db.update(apiKeys).set({ lastUsedAt: now }).where(eq(apiKeys.id, key.id));
}
