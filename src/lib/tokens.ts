import { sign, verify } from "hono/jwt";
import { decodeBase64Url, encodeBase64Url } from "hono/utils/encode";
import { hmacKey } from "./hash";
import { isEmailLinkToken, verifyEmailLinkToken } from "./link-token";
import { CONFIRM_LINK_TTL_HOURS } from "../course/meta";

/**
 * Signed link tokens (HS256 JWTs via hono/jwt, WebCrypto underneath). Each token is bound to one
 * purpose through its audience claim, so a manage link cannot confirm a subscription, and so on.
 * Lesson emails carry one compact token instead (src/lib/link-token.ts); `verifyToken` reads both,
 * so every JWT already in people's inboxes keeps working.
 * Expiry is checked against the injected clock rather than the wall clock, so tests can move time.
 */

export type TokenPurpose = "confirm" | "manage" | "unsubscribe" | "lesson" | "feedback";

export interface TokenClaims {
  purpose: TokenPurpose;
  subscriberId: string;
  /** For confirm tokens: the subscriber's confirmation nonce at signing time. */
  nonce?: number;
  /** For lesson tokens: the lesson the token opens; for feedback tokens: the lesson rated. */
  lesson?: number;
  /**
   * The course (slug) a confirm, unsubscribe, lesson or feedback token is about. Absent in
   * confirm, unsubscribe and lesson tokens issued before there were several courses: those mean the
   * default course.
   */
  course?: string;
  /** For feedback tokens: the enrollment run the lesson was sent in. */
  run?: number;
  /** Milliseconds since the epoch; absent for links that live as long as the subscriber. */
  expiresAt?: number;
  /**
   * For confirm tokens: the details typed into the signup this link answers. They travel signed
   * and encrypted inside the link, so only the person who can read the address's mail can make them count.
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
      ...(claims.run !== undefined && { r: claims.run }),
      ...(claims.expiresAt !== undefined && { exp: Math.floor(claims.expiresAt / 1000) }),
      ...(claims.details !== undefined && { d: await sealDetails(secret, claims.details) }),
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
  if (isEmailLinkToken(token)) return emailLinkClaims(secret, token, purpose);
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
      run: typeof payload.r === "number" ? payload.r : undefined,
      expiresAt,
      details: await openDetails(secret, payload.d),
      ...(expired && { expired: true }),
    };
  } catch {
    return null;
  }
}

/**
 * What a lesson email's one token (src/lib/link-token.ts) opens for `purpose`: manage names the
 * subscriber only; unsubscribe names the course too (a one-click unsubscribe leaves that course
 * only); view in browser and feedback name the course, run and lesson. Never a confirmation.
 */
function emailLinkClaims(secret: string, token: string, purpose: TokenPurpose): TokenClaims | null {
  if (purpose === "confirm") return null;
  const claims = verifyEmailLinkToken(secret, token);
  if (!claims) return null;
  const { subscriberId, course, run, lesson } = claims;
  if (purpose === "manage") return { purpose, subscriberId };
  if (purpose === "unsubscribe") return { purpose, subscriberId, course };
  return { purpose, subscriberId, course, run, lesson };
}

/**
 * A JWT's payload is only base64: readable by anyone who sees the URL (proxy logs, browser
 * history). The details are personal, so they travel encrypted with AES-256-GCM (WebCrypto) under a
 * key derived from the app secret, as `base64url(iv ‖ ciphertext)`; the JWT signature covers it too.
 */
const detailKeys = new Map<string, Promise<CryptoKey>>();

function detailsKey(secret: string): Promise<CryptoKey> {
  let key = detailKeys.get(secret);
  if (!key) {
    key = crypto.subtle
      .digest("SHA-256", new TextEncoder().encode(`signup-details:${secret}`))
      .then((raw) => crypto.subtle.importKey("raw", raw, "AES-GCM", false, ["encrypt", "decrypt"]));
    detailKeys.set(secret, key);
  }
  return key;
}

const IV_BYTES = 12;

async function sealDetails(secret: string, details: SignupDetails): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const plain = new TextEncoder().encode(JSON.stringify({ fn: details.firstName, tz: details.timeZone }));
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv }, await detailsKey(secret), plain));
  const joined = new Uint8Array(IV_BYTES + sealed.length);
  joined.set(iv);
  joined.set(sealed, IV_BYTES);
  return encodeBase64Url(joined.buffer);
}

/** The signup details of a confirm token, only when present, genuine and well-formed. */
async function openDetails(secret: string, sealed: unknown): Promise<SignupDetails | undefined> {
  if (typeof sealed !== "string" || sealed.length > 1024) return undefined;
  try {
    const bytes = decodeBase64Url(sealed);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: bytes.subarray(0, IV_BYTES) }, await detailsKey(secret), bytes.subarray(IV_BYTES));
    const { fn, tz } = JSON.parse(new TextDecoder().decode(plain)) as Record<string, unknown>;
    if (typeof tz !== "string" || tz.length === 0 || tz.length > 100) return undefined;
    if (fn !== null && (typeof fn !== "string" || fn.length > 100)) return undefined;
    return { firstName: fn, timeZone: tz };
  } catch {
    return undefined;
  }
}
