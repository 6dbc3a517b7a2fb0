import { sign, verify } from "hono/jwt";
import { hmacKey } from "./hash";

/**
 * Signed form tokens: the CSRF defence of the forms on the pages behind a subscriber's links
 * (manage, delete, "pause instead" on the unsubscribe page).
 *
 * Why not `Origin` alone: pages that carry a token in their URL are served with
 * `Referrer-Policy: no-referrer`, and with that policy Chromium sends `Origin: null` on their form
 * POSTs, so an origin check alone refuses our own forms. This is the stateless synchronizer token
 * pattern (OWASP CSRF Prevention Cheat Sheet, "Synchronizer Token Pattern"). A form token is an HS256 JWT (hono/jwt, WebCrypto) keyed with
 * APP_SECRET, bound to one subscriber and one purpose through `sub` and `aud`, with an expiry.
 * A cross-site attacker cannot read it from our page, so cannot forge a POST that carries it.
 */

/** What a form token allows: the manage page's actions (pause, resume, restart, details, delete …), or the operator console's (bound to a session). */
export type FormPurpose = "manage" | "admin";

/** How long a page's forms keep working after it was served: a page left open overnight still works. */
export const FORM_TOKEN_TTL_MS = 24 * 60 * 60 * 1000;

/** The hidden field that carries the token in every state-changing form. */
export const FORM_TOKEN_FIELD = "csrf";

const audience = (purpose: FormPurpose) => `form:${purpose}`;

/** A token for `subscriberId`'s forms of `purpose`, valid until `now + FORM_TOKEN_TTL_MS` (ms, UTC). */
export async function signFormToken(secret: string, subscriberId: string, purpose: FormPurpose, now: number): Promise<string> {
  const exp = Math.floor((now + FORM_TOKEN_TTL_MS) / 1000);
  return sign({ sub: subscriberId, aud: audience(purpose), exp }, await hmacKey(secret), "HS256");
}

/**
 * True when `token` was signed with `secret` for this subscriber and purpose and has not expired at
 * `now` (ms, the injected clock). Anything else, including a missing or oversized token, is false.
 */
export async function verifyFormToken(
  secret: string,
  token: unknown,
  subscriberId: string,
  purpose: FormPurpose,
  now: number,
): Promise<boolean> {
  if (typeof token !== "string" || token.length === 0 || token.length > 1024) return false;
  try {
    const payload = await verify(token, await hmacKey(secret), { alg: "HS256", aud: audience(purpose), exp: false, nbf: false, iat: false });
    return payload.sub === subscriberId && typeof payload.exp === "number" && payload.exp * 1000 > now;
  } catch {
    return false;
  }
}
