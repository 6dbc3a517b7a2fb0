import { sign, verify } from "hono/jwt";
import { hmacKey } from "./hash";
import { CONFIRM_LINK_TTL_HOURS } from "../course/meta";

/**
 * Signed link tokens (HS256 JWTs via hono/jwt, WebCrypto underneath). Each token is bound to one
 * purpose through its audience claim, so a manage link cannot confirm a subscription, and so on.
 * Expiry is checked against the injected clock rather than the wall clock, so tests can move time.
 */

export type TokenPurpose = "confirm" | "manage" | "unsubscribe" | "lesson";

export interface TokenClaims {
  purpose: TokenPurpose;
  subscriberId: string;
  /** For confirm tokens: the subscriber's confirmation nonce at signing time. */
  nonce?: number;
  /** For lesson tokens: the lesson the token opens. */
  lesson?: number;
  /**
   * The course (slug) a confirm, unsubscribe or lesson token is about. Absent in tokens issued
   * before there were several courses: those mean the default course.
   */
  course?: string;
  /** Milliseconds since the epoch; absent for links that live as long as the subscriber. */
  expiresAt?: number;
  /**
   * For confirm tokens: the details typed into the signup this link answers. They travel signed
   * inside the link, so only the person who can read the address's mail can make them count.
   * Absent in links issued before they were added (the stored details count then).
   */
  details?: SignupDetails;
}

/** What a signup may set about a person: first name (or null) and IANA time zone. */
export interface SignupDetails {
  firstName: string | null;
  timeZone: string;
}

/** Confirmation links expire; the confirmation email tells the reader how long they have. */
export const CONFIRM_TOKEN_TTL_MS = CONFIRM_LINK_TTL_HOURS * 60 * 60 * 1000;

export async function signToken(secret: string, claims: TokenClaims): Promise<string> {
  return sign(
    {
      sub: claims.subscriberId,
      aud: claims.purpose,
      ...(claims.nonce !== undefined && { n: claims.nonce }),
      ...(claims.lesson !== undefined && { l: claims.lesson }),
      ...(claims.course !== undefined && { c: claims.course }),
      ...(claims.expiresAt !== undefined && { exp: Math.floor(claims.expiresAt / 1000) }),
      ...(claims.details !== undefined && { fn: claims.details.firstName, tz: claims.details.timeZone }),
    },
    await hmacKey(secret),
    "HS256",
  );
}

/**
 * The claims of a valid token for `purpose`, or null for anything tampered, expired or misused.
 * With `{ allowExpired: true }` a genuine but expired token still yields its claims, marked
 * `expired: true`, so a page can tell an already-confirmed person so instead of "invalid".
 */
export async function verifyToken(
  secret: string,
  token: string,
  purpose: TokenPurpose,
  now: number,
  options: { allowExpired?: boolean } = {},
): Promise<(TokenClaims & { expired?: boolean }) | null> {
  if (token.length === 0 || token.length > 2048) return null;
  try {
    const payload = await verify(token, await hmacKey(secret), { alg: "HS256", aud: purpose, exp: false, nbf: false, iat: false });
    if (typeof payload.sub !== "string" || payload.sub.length === 0) return null;
    const expiresAt = typeof payload.exp === "number" ? payload.exp * 1000 : undefined;
    const expired = expiresAt !== undefined && expiresAt <= now;
    if (expired && !options.allowExpired) return null;
    return {
      purpose,
      subscriberId: payload.sub,
      nonce: typeof payload.n === "number" ? payload.n : undefined,
      lesson: typeof payload.l === "number" ? payload.l : undefined,
      course: typeof payload.c === "string" && payload.c.length > 0 && payload.c.length <= 100 ? payload.c : undefined,
      expiresAt,
      details: detailsOf(payload),
      ...(expired && { expired: true }),
    };
  } catch {
    return null;
  }
}

/** The signup details of a confirm token, only when both are present and well-formed. */
function detailsOf(payload: Record<string, unknown>): SignupDetails | undefined {
  const { fn, tz } = payload;
  if (typeof tz !== "string" || tz.length === 0 || tz.length > 100) return undefined;
  if (fn !== null && (typeof fn !== "string" || fn.length > 100)) return undefined;
  return { firstName: fn, timeZone: tz };
}
