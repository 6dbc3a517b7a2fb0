import type { Context } from "hono";
import { sign, verify } from "hono/jwt";
import type { AppEnv } from "../app-env";
import type { Config } from "../config";
import type { RateLimitRule } from "./rate-limit";

/**
 * The pieces of signup protection that hold no state of their own: the signed form time, the
 * honeypot, the client's address, and Cloudflare Turnstile. The counters live in the database
 * (`rate-limit.ts`), so every piece works the same on Node and in Workers.
 */

const HOUR = 60 * 60 * 1000;

export const SIGNUP_LIMITS = {
  /** Valid signups one client address may make; generous for a household or an office behind one address. */
  perIp: { limit: 10, windowMs: HOUR },
  /** Confirmation emails one address may receive: enough for "I lost the email", too few to mail-bomb someone. */
  perAddress: { limit: 3, windowMs: 24 * HOUR },
  /**
   * While an address is suppressed (it bounced or complained) it gets one confirmation a day at most:
   * each one risks another complaint. Counted apart from the normal limit, so a person who signs
   * up again the same day still gets their link.
   */
  perSuppressedAddress: { limit: 1, windowMs: 24 * HOUR },
} satisfies Record<string, RateLimitRule>;

/** People take longer than this to type an address; scripts that post the page straight back don't. */
export const MIN_FILL_MS = 2_000;
/** A form older than this was left open in a tab (or its token was harvested): ask for a fresh one. */
export const FORM_TOKEN_TTL_MS = 24 * HOUR;

const FORM_AUDIENCE = "signup-form";

/** The hidden `formToken`: the instant the form was served, signed so it cannot be backdated. */
export async function issueFormToken(secret: string, now: number): Promise<string> {
  return sign({ aud: FORM_AUDIENCE, t: now }, secret, "HS256");
}

export type FormTokenCheck = "ok" | "missing" | "invalid" | "too_fast" | "expired";

export async function checkFormToken(secret: string, token: unknown, now: number): Promise<FormTokenCheck> {
  if (token === undefined || token === null || token === "") return "missing";
  if (typeof token !== "string" || token.length > 1024) return "invalid";
  try {
    const payload = await verify(token, secret, { alg: "HS256", aud: FORM_AUDIENCE, exp: false, nbf: false, iat: false });
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

/** The state the signup form needs to render: a fresh form token and, when enabled, Turnstile. */
export async function freshFormState(config: Config, now: number) {
  return { formToken: await issueFormToken(config.appSecret, now), turnstileSiteKey: config.turnstile?.siteKey };
}

const IP_PATTERN = /^[0-9a-f:.]{2,45}$/;

/** The client's address as the runtime reports it, or undefined when unknown or unusable. */
export function clientIp(c: Context<AppEnv>): string | undefined {
  const deps = c.get("deps");
  const raw = deps.clientIp ? deps.clientIp(c) : c.req.header("cf-connecting-ip");
  if (!raw) return undefined;
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
