import { z } from "zod";

/**
 * The one place environment variables are read. Each entry (Node server, Worker, CLI) parses its
 * environment once with `loadConfig` and passes the result down; nothing else reads `process.env`.
 */

const DEV_SECRET = "dev-only-secret-change-me-dev-only-secret";
const TURNSTILE_VERIFY_URL = "https://challenges.cloudflare.com/turnstile/v0/siteverify";
const DEV_POSTAL_ADDRESS = "Natural Acne Medicine · 123 Placeholder Street · Springfield (set MAIL_POSTAL_ADDRESS)";

const optionalString = z
  .string()
  .trim()
  .transform((value) => (value === "" ? undefined : value))
  .optional();

/**
 * A whole number written in decimal digits, from `min` to `max`; unset or empty means "use the
 * default" (an empty `SEND_HOUR=` must not become midnight). `1e3`, `0x10` and `8.5` are refused,
 * and the error names the range (the variable's name is prefixed).
 */
const wholeNumber = (min: number, max: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return optionalString.pipe(
    z
      .string()
      .regex(/^\d{1,9}$/, message)
      .transform(Number)
      .pipe(z.number().min(min, message).max(max, message))
      .optional(),
  );
};
/** The same, with `fallback` when unset or empty. */
const wholeNumberOr = (min: number, max: number, fallback: number) =>
  wholeNumber(min, max).transform((value) => value ?? fallback);

const envSchema = z
  .object({
    NODE_ENV: optionalString,
    PORT: wholeNumberOr(1, 65_535, 3000),
    APP_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    APP_SECRET: optionalString.pipe(z.string().min(32, "must be at least 32 characters").optional()),
    DATABASE_URL: optionalString,
    DATABASE_AUTH_TOKEN: optionalString,
    RESEND_API_KEY: optionalString,
    RESEND_BASE_URL: optionalString.pipe(z.url().optional()),
    /** Resend's signing secret (Standard Webhooks: `whsec_` then base64). */
    RESEND_WEBHOOK_SECRET: optionalString.pipe(
      z
        .string()
        .regex(/^(whsec_)?[A-Za-z0-9+/]{16,}={0,2}$/, "must be the webhook signing secret from Resend, like whsec_…")
        .optional(),
    ),
    MAIL_FROM: optionalString,
    /** Reply-To of lesson emails: an address (or `Name <address>`) a person reads. */
    REPLY_TO: optionalString.pipe(
      z
        .string()
        .regex(/^(?:[^\r\n<>@]*<[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+\.[^\s<>@]+)$/, "must be an email address a person reads, like hello@example.com or Jo <hello@example.com>")
        .optional(),
    ),
    MAIL_POSTAL_ADDRESS: optionalString,
    BRAND_NAME: optionalString,
    OUTBOX_DIR: optionalString,
    SEND_HOUR: wholeNumberOr(0, 23, 8),
    TICK_INTERVAL_SECONDS: wholeNumberOr(1, 86_400, 60),
    /** Requests one API key may make per window (see README, "API"). */
    API_RATE_LIMIT: wholeNumberOr(1, 1_000_000, 600),
    API_RATE_LIMIT_WINDOW_SECONDS: wholeNumberOr(1, 86_400, 60),
    TURNSTILE_SECRET: optionalString,
    TURNSTILE_SITE_KEY: optionalString,
    /** Cloudflare's siteverify endpoint; overridable so tests can stand a fake in its place. */
    TURNSTILE_VERIFY_URL: optionalString.pipe(z.url({ protocol: /^https?$/ }).optional()),
    /** Signups one client address may make per window (see README, "Signup limits"). */
    SIGNUP_LIMIT_PER_IP: wholeNumberOr(1, 1_000_000, 10),
    SIGNUP_LIMIT_PER_IP_WINDOW_SECONDS: wholeNumberOr(1, 7 * 86_400, 3_600),
    /** Confirmation emails (accepted by the provider) one address may receive per window. */
    SIGNUP_LIMIT_PER_ADDRESS: wholeNumberOr(1, 100, 3),
    SIGNUP_LIMIT_PER_ADDRESS_WINDOW_SECONDS: wholeNumberOr(1, 7 * 86_400, 86_400),
    /** Off, or how many reverse proxies in front of the Node server append to X-Forwarded-For. */
    TRUST_PROXY: optionalString.pipe(
      z
        .string()
        .regex(/^(true|false|[0-9]|1[0-9]|20)$/i, "must be false (the default), true (one proxy) or the number of proxies in front (0–20)")
        .transform((value) => (/^true$/i.test(value) ? 1 : /^false$/i.test(value) ? 0 : Number(value)))
        .optional(),
    ),
    /** Per-run budget of the Worker's cron pass: how many emails one pass may send. */
    DISPATCH_MAX_EMAILS: wholeNumber(1, 100_000),
    /** Per-run budget of wall time in milliseconds. */
    DISPATCH_MAX_MS: wholeNumber(100, 900_000),
    /** Per-run budget of outbound calls (database and provider): Workers count these as subrequests. */
    DISPATCH_MAX_SUBREQUESTS: wholeNumber(10, 100_000),
  })
  .passthrough();

export type Runtime = "node" | "worker";

const WHY_REQUIRED: Partial<Record<string, string>> = {
  MAIL_POSTAL_ADDRESS: ": the sender's real postal address, shown in every email footer",
  RESEND_API_KEY: ": without it emails are only written to the local outbox and nobody receives them",
};

export interface Config {
  production: boolean;
  port: number;
  appUrl: string;
  appSecret: string;
  database: { url: string; authToken?: string };
  resend?: { apiKey: string; baseUrl?: string };
  resendWebhookSecret?: string;
  mailFrom: string;
  /** Reply-To of lesson emails (never of confirmations); undefined = none. */
  replyTo?: string;
  brandName: string;
  postalAddress: string;
  outboxDir: string;
  sendHour: number;
  tickIntervalSeconds: number;
  /** Requests per API key and window (ms). */
  apiRateLimit: { limit: number; windowMs: number };
  turnstile?: { secret: string; siteKey: string; verifyUrl: string };
  /** Signup limits; windows in milliseconds. */
  signupLimits: { perIp: { limit: number; windowMs: number }; perAddress: { limit: number; windowMs: number } };
  /** How many reverse proxies in front of the Node server to trust in X-Forwarded-For; 0 = none. */
  trustProxy: number;
  dispatchBudget: { maxEmails: number; maxMs: number; maxSubrequests: number };
  /** Things an operator should know about the configuration (never secrets themselves). */
  warnings: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/** Generous on Node (one long-lived process); the Worker default fits Workers Free (50 subrequests). */
const DEFAULT_BUDGET: Record<Runtime, Config["dispatchBudget"]> = {
  node: { maxEmails: 10_000, maxMs: 50_000, maxSubrequests: Number.POSITIVE_INFINITY },
  worker: { maxEmails: 800, maxMs: 25_000, maxSubrequests: 50 },
};

export function loadConfig(env: Record<string, string | undefined>, runtime: Runtime = "node"): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".") || "env"}: ${issue.message}`));
  }
  const e = parsed.data;
  const production = runtime === "worker" || e.NODE_ENV === "production";

  if (production) {
    // MAIL_POSTAL_ADDRESS: anti-spam law (CAN-SPAM, PECR/ePrivacy) wants a real postal address in
    // every email; a public placeholder is worse than not starting.
    // RESEND_API_KEY: without it mail goes to the local outbox, so people would be told to check
    // their inbox and receive nothing.
    const missing = (["APP_SECRET", "APP_URL", "DATABASE_URL", "MAIL_POSTAL_ADDRESS", "RESEND_API_KEY"] as const).filter((name) => !e[name]);
    if (missing.length > 0) throw new ConfigError(missing.map((name) => `${name} is required in production${WHY_REQUIRED[name] ?? ""}`));
  }

  // A secret without a site key would refuse every signup: the form could never show the widget.
  if (e.TURNSTILE_SECRET && !e.TURNSTILE_SITE_KEY) {
    throw new ConfigError(["TURNSTILE_SITE_KEY is required when TURNSTILE_SECRET is set"]);
  }

  const warnings: string[] = [];
  if (!e.APP_SECRET) warnings.push("APP_SECRET is not set: using a fixed development secret. Never use it in production.");
  if (!e.MAIL_POSTAL_ADDRESS) warnings.push("MAIL_POSTAL_ADDRESS is not set: emails show a placeholder postal address.");
  if (e.RESEND_API_KEY && !e.RESEND_WEBHOOK_SECRET) {
    warnings.push("RESEND_WEBHOOK_SECRET is not set: bounces and complaints are not processed (POST /webhooks/resend answers 503).");
  }

  const appUrl = (e.APP_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, "");
  const brandName = e.BRAND_NAME ?? "Natural Acne Medicine";

  return {
    production,
    port: e.PORT,
    appUrl,
    appSecret: e.APP_SECRET ?? DEV_SECRET,
    database: { url: e.DATABASE_URL ?? "file:data/course.db", authToken: e.DATABASE_AUTH_TOKEN },
    resend: e.RESEND_API_KEY ? { apiKey: e.RESEND_API_KEY, baseUrl: e.RESEND_BASE_URL } : undefined,
    resendWebhookSecret: e.RESEND_WEBHOOK_SECRET,
    mailFrom: e.MAIL_FROM ?? `${brandName} <lessons@localhost>`,
    replyTo: e.REPLY_TO,
    brandName,
    postalAddress: e.MAIL_POSTAL_ADDRESS ?? DEV_POSTAL_ADDRESS,
    outboxDir: e.OUTBOX_DIR ?? "data/outbox",
    sendHour: e.SEND_HOUR,
    tickIntervalSeconds: e.TICK_INTERVAL_SECONDS,
    apiRateLimit: { limit: e.API_RATE_LIMIT, windowMs: e.API_RATE_LIMIT_WINDOW_SECONDS * 1000 },
    turnstile:
      e.TURNSTILE_SECRET && e.TURNSTILE_SITE_KEY
        ? { secret: e.TURNSTILE_SECRET, siteKey: e.TURNSTILE_SITE_KEY, verifyUrl: e.TURNSTILE_VERIFY_URL ?? TURNSTILE_VERIFY_URL }
        : undefined,
    signupLimits: {
      perIp: { limit: e.SIGNUP_LIMIT_PER_IP, windowMs: e.SIGNUP_LIMIT_PER_IP_WINDOW_SECONDS * 1000 },
      perAddress: { limit: e.SIGNUP_LIMIT_PER_ADDRESS, windowMs: e.SIGNUP_LIMIT_PER_ADDRESS_WINDOW_SECONDS * 1000 },
    },
    trustProxy: e.TRUST_PROXY ?? 0,
    dispatchBudget: {
      maxEmails: e.DISPATCH_MAX_EMAILS ?? DEFAULT_BUDGET[runtime].maxEmails,
      maxMs: e.DISPATCH_MAX_MS ?? DEFAULT_BUDGET[runtime].maxMs,
      maxSubrequests: e.DISPATCH_MAX_SUBREQUESTS ?? DEFAULT_BUDGET[runtime].maxSubrequests,
    },
    warnings,
  };
}
