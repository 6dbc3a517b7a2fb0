import type { Context } from "hono";
import { sign, verify } from "hono/jwt";
import type { AppEnv } from "../app-env";
import type { Config } from "../config";
import { hmacKey } from "./hash";

/**
 * The pieces of signup protection that hold no state of their own: the signed form time, the
 * honeypot, the client's address, and Cloudflare Turnstile. The counters live in the database
 * (`rate-limit.ts`), so every piece works the same on Node and in Workers.
 */

const HOUR = 60 * 60 * 1000;

/** People take longer than this to type an address; scripts that post the page straight back don't. */
export const MIN_FILL_MS = 2_000;
/** A form older than this was left open in a tab (or its token was harvested): ask for a fresh one. */
export const FORM_TOKEN_TTL_MS = 24 * HOUR;

const FORM_AUDIENCE = "signup-form";

/**
 * After a form came back too fast (browser autofill and a quick click), the one more click we ask
 * for may come this soon: people read the message first; a script replaying at once still waits.
 */
export const RETRY_FILL_MS = 1_000;

/**
 * The hidden `formToken`: the instant the form counts as served (ms since the epoch, UTC), signed
 * so it cannot be backdated. The "one more click" form passes an earlier instant so that its
 * minimum fill time is RETRY_FILL_MS rather than MIN_FILL_MS.
 */
export async function issueFormToken(secret: string, servedAt: number): Promise<string> {
  // The imported key is cached per secret (hash.ts): importing it per page view cost more than the signature.
  return sign({ aud: FORM_AUDIENCE, t: servedAt }, await hmacKey(secret), "HS256");
}

export type FormTokenCheck = "ok" | "missing" | "invalid" | "too_fast" | "expired";

export async function checkFormToken(secret: string, token: unknown, now: number): Promise<FormTokenCheck> {
  if (token === undefined || token === null || token === "") return "missing";
  if (typeof token !== "string" || token.length > 1024) return "invalid";
  try {
    const payload = await verify(token, await hmacKey(secret), { alg: "HS256", aud: FORM_AUDIENCE, exp: false, nbf: false, iat: false });
    if (typeof payload.t !== "number" || !Number.isFinite(payload.t)) return "invalid";
    const age = now - payload.t;
    // A token from the future (clock skew between isolates aside) is as suspect as a fast one.
    if (age < MIN_FILL_MS) return "too_fast";
    if (age > FORM_TOKEN_TTL_MS) return "expired";
    return "ok";
  } catch {
    return "invalid";
  }
}

/** The hidden `website` field: people never see it, so anything in it was put there by a bot. */
export function honeypotFilled(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  return typeof value !== "string" || value.trim() !== "";
}

/**
 * The state the signup form needs to render: a fresh form token and, when enabled, Turnstile.
 * `retry`: the form is shown again after a too-fast post, so one more click soon is enough.
 */
export async function freshFormState(config: Config, now: number, options: { retry?: boolean } = {}) {
  const servedAt = options.retry ? now - MIN_FILL_MS + RETRY_FILL_MS : now;
  return { formToken: await issueFormToken(config.appSecret, servedAt), turnstileSiteKey: config.turnstile?.siteKey };
}

const IP_PATTERN = /^[0-9a-f:.]{2,45}$/;

/**
 * The client's address as the runtime reports it, or undefined when unknown or unusable (a client
 * that hung up before its socket was read, a runtime that reports none, a malformed header).
 * Callers must not skip a check for undefined: signup counts it in one shared bucket.
 */
export function clientIp(c: Context<AppEnv>): string | undefined {
  const deps = c.get("deps");
  let raw: string | undefined;
  try {
    raw = deps.clientIp ? deps.clientIp(c) : c.req.header("cf-connecting-ip");
  } catch {
    return undefined;
  }
  if (typeof raw !== "string" || raw === "") return undefined;
  const ip = raw.trim().toLowerCase().replace(/^\[|\]$/g, "").split("%")[0]!;
  return IP_PATTERN.test(ip) ? ip : undefined;
}

/**
 * The bucket an address counts in. IPv6 clients usually hold a whole /64, so one person could
 * rotate through billions of addresses: count the /64. IPv4-mapped addresses count as IPv4.
 */
export function ipBucket(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(":")) return ip;
  const halves = ip.split("::");
  if (halves.length > 2) return ip;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves[1] ? halves[1].split(":") : [];
  const groups = halves.length === 2 ? [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail] : head;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ""))
    .join(":")}::/64`;
}

export type TurnstileOutcome = "passed" | "failed" | "unavailable";

const TURNSTILE_TIMEOUT_MS = 5_000;

/**
 * Asks Cloudflare whether the widget's token is genuine (siteverify). Tokens are single-use and
 * at most 2048 characters. https://developers.cloudflare.com/turnstile/get-started/server-side-validation/
 */
export async function verifyTurnstile(
  turnstile: NonNullable<Config["turnstile"]>,
  token: unknown,
  ip: string | undefined,
): Promise<TurnstileOutcome> {
  if (typeof token !== "string" || token === "" || token.length > 2048) return "failed";
  const body = new URLSearchParams({ secret: turnstile.secret, response: token });
  if (ip) body.set("remoteip", ip);
  try {
    const res = await fetch(turnstile.verifyUrl, { method: "POST", body, signal: AbortSignal.timeout(TURNSTILE_TIMEOUT_MS) });
    if (!res.ok) return "unavailable";
    const result = (await res.json()) as { success?: unknown };
    return result.success === true ? "passed" : "failed";
  } catch {
    return "unavailable";
  }
}
