import { and, eq, gt, isNull, lte, or } from "drizzle-orm";
import type { Db } from "../db/client";
import { adminSessions, adminSignInTokens } from "../db/schema";
import { randomSecret, sha256Hex } from "../lib/hash";
import { SIGN_IN_TTL_MS } from "./sign-in-email";

export { SIGN_IN_TTL_MS } from "./sign-in-email";

/**
 * Passwordless operator sign-in: one-time links and sessions. Only SHA-256 hashes of the random
 * secrets are stored (OWASP Session Management Cheat Sheet: session ids are 128+ bits of CSPRNG
 * output; storing a hash means a leaked database grants no session). WebCrypto only, so it costs
 * the same microseconds on Node and in a Worker: a 256-bit random secret needs no slow password hash.
 */

/** A session lasts 12 hours from sign-in, then the operator signs in again. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** The sign-in URL for a fresh one-time token for `email` (an operator's normalised address). */
export async function createSignInLink(db: Db, appUrl: string, email: string, now: number): Promise<string> {
  const token = randomSecret();
  await db.insert(adminSignInTokens).values({ tokenHash: await sha256Hex(token), email, createdAt: now, expiresAt: now + SIGN_IN_TTL_MS });
  return `${appUrl}/admin/sign-in?token=${encodeURIComponent(token)}`;
}

/**
 * Uses a sign-in token: marks it used in the same statement that checks it is unused and unexpired,
 * so two clicks (or a mail scanner and a person) cannot both get a session. Returns the address
 * it was issued to, or undefined.
 */
export async function redeemSignInToken(db: Db, token: string, now: number): Promise<string | undefined> {
  if (token.length === 0 || token.length > 200) return undefined;
  const [row] = await db
    .update(adminSignInTokens)
    .set({ usedAt: now })
    .where(and(eq(adminSignInTokens.tokenHash, await sha256Hex(token)), isNull(adminSignInTokens.usedAt), gt(adminSignInTokens.expiresAt, now)))
    .returning({ email: adminSignInTokens.email });
  return row?.email;
}

export interface OperatorSession {
  /** SHA-256 of the session id: the row's key, and what form tokens are bound to. */
  idHash: string;
  email: string;
  expiresAt: number;
}

/** Starts a session; returns the secret id for the cookie (never stored) and the session. */
export async function createSession(db: Db, email: string, now: number): Promise<{ id: string; session: OperatorSession }> {
  const id = randomSecret();
  const session = { idHash: await sha256Hex(id), email, expiresAt: now + SESSION_TTL_MS };
  await db.insert(adminSessions).values({ ...session, createdAt: now });
  return { id, session };
}

/** The live session for a cookie's id: not revoked, not expired at `now`. */
export async function findSession(db: Db, id: string, now: number): Promise<OperatorSession | undefined> {
  if (id.length === 0 || id.length > 200) return undefined;
  const row = await db.query.adminSessions.findFirst({
    columns: { idHash: true, email: true, expiresAt: true },
    where: and(eq(adminSessions.idHash, await sha256Hex(id)), isNull(adminSessions.revokedAt), gt(adminSessions.expiresAt, now)),
  });
  return row;
}

export async function revokeSession(db: Db, idHash: string, now: number): Promise<void> {
  await db.update(adminSessions).set({ revokedAt: now }).where(and(eq(adminSessions.idHash, idHash), isNull(adminSessions.revokedAt)));
}

/** Drops links and sessions that can no longer be used (expired a day ago, or revoked). */
export async function pruneSignIns(db: Db, now: number): Promise<void> {
  const dayAgo = now - 24 * 60 * 60 * 1000;
  await db.delete(adminSignInTokens).where(lte(adminSignInTokens.expiresAt, dayAgo));
  await db.delete(adminSessions).where(or(lte(adminSessions.expiresAt, dayAgo), lte(adminSessions.revokedAt, dayAgo)));
}
