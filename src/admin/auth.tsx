/** @jsxImportSource hono/jsx */
import { Hono, type Context, type MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../app-env";
import type { Config } from "../config";
import { signInTemplate } from "../mail/emails";
import { fillTemplate } from "../mail/template";
import { emailAddress } from "../lib/email-address";
import { AppError, notFound } from "../lib/errors";
import { FORM_TOKEN_FIELD, signFormToken, verifyFormToken } from "../lib/form-token";
import { keyedHash } from "../lib/hash";
import { hitRateLimit } from "../lib/rate-limit";
import { headerSafe } from "../mail/compose";
import { formFields } from "../routes/helpers";
import { ConsolePage } from "./layout";
import { createSession, createSignInLink, findSession, pruneSignIns, redeemSignInToken, revokeSession, SESSION_TTL_MS, type OperatorSession } from "./sessions";
import { ADMIN_SIGN_IN_SUBJECT } from "./sign-in-email";

/** Variables of a console request: the signed-in operator and their CSRF token. */
export type ConsoleEnv = { Variables: AppEnv["Variables"] & { operator: OperatorSession; csrf: string } };

/** Sign-in requests one client address may make per 15 minutes, and one operator address per hour. */
const LOGIN_LIMITS = { perIp: { limit: 20, windowMs: 15 * 60 * 1000 }, perAddress: { limit: 5, windowMs: 60 * 60 * 1000 } };

/**
 * The cookie: `__Host-` prefixed and Secure on https (the browser then refuses it from http and
 * from any other path or subdomain); plain on http://localhost, where Secure cookies are not kept.
 */
function cookieSpec(config: Config) {
  const secure = config.appUrl.startsWith("https://");
  return { name: secure ? "__Host-console" : "console_session", secure };
}

/** The console is off (every console page is a 404) until ADMIN_EMAILS names an operator. */
export const consoleOn: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (c.get("deps").config.adminEmails.length === 0) throw notFound("The operator console is off: set ADMIN_EMAILS to turn it on.");
  await next();
};

/**
 * A signed-in operator or nothing: a page asks for sign-in (a GET is sent to the login page, any
 * other method gets a 401). An address removed from ADMIN_EMAILS loses its sessions at once.
 */
export const requireOperator: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  const { db, clock, config } = c.get("deps");
  const now = clock();
  const id = getCookie(c, cookieSpec(config).name);
  const session = id ? await findSession(db, id, now) : undefined;
  if (!session || !config.adminEmails.includes(session.email)) {
    if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect("/admin/login", 303);
    throw new AppError(401, "sign_in_required", "Please sign in to the console again.");
  }
  c.set("operator", session);
  c.set("csrf", await signFormToken(config.appSecret, session.idHash, "admin", now));
  c.header("Cache-Control", "no-store");
  await next();
};

/** CSRF: every state change is a POST carrying a form token bound to this session (src/lib/form-token.ts). */
export async function checkCsrf(c: Context<ConsoleEnv>, token: unknown): Promise<void> {
  const { config, clock } = c.get("deps");
  if (!(await verifyFormToken(config.appSecret, token, c.get("operator").idHash, "admin", clock()))) {
    throw new AppError(403, "csrf", "This form has expired or did not come from the console. Please go back, reload the page and try again.");
  }
}

/** Reads a urlencoded or multipart form and checks its CSRF field; returns the fields (first values). */
export async function readConsoleForm(c: Context<ConsoleEnv>): Promise<Record<string, string | File>> {
  const fields = (await formFields(c)) as Record<string, string | File> | null;
  if (!fields) throw new AppError(400, "invalid_form", "The form could not be read.");
  await checkCsrf(c, fields[FORM_TOKEN_FIELD]);
  return fields;
}

const site = (config: Config) => ({ brandName: config.brandName });

function LoginPage(props: { brandName: string; sent?: boolean; error?: string }) {
  return (
    <ConsolePage title="Sign in" brandName={props.brandName}>
      {props.sent ? (
        <p class="notice" role="status">
          If that address belongs to an operator, a sign-in link is on its way. It works once, for 15 minutes.
        </p>
      ) : (
        <p class="lead">We email you a link that signs you in. No password.</p>
      )}
      <form method="post" action="/admin/login" class="card" novalidate>
        <div class="field">
          <label for="email">Your email address</label>
          <input id="email" name="email" type="email" autocomplete="email" required aria-invalid={props.error ? "true" : undefined} aria-describedby={props.error ? "email-error" : undefined} />
          {props.error && (
            <p id="email-error" class="error">
              {props.error}
            </p>
          )}
        </div>
        <button type="submit">Email me a sign-in link</button>
      </form>
    </ConsolePage>
  );
}

async function mailSignInLink(c: Context<AppEnv>, email: string, now: number): Promise<void> {
  const { db, mailer, config, logger } = c.get("deps");
  const signInUrl = await createSignInLink(db, config.appUrl, email, now);
  // The link's lifetime (SIGN_IN_TTL_MS) is compiled into the email by `npm run build:emails`.
  const { html, text } = fillTemplate(signInTemplate(config), { signInUrl });
  const result = await mailer.send({ to: email, from: headerSafe(config.mailFrom), subject: ADMIN_SIGN_IN_SUBJECT, html, text, tags: [{ name: "category", value: "admin-sign-in" }] });
  if (!result.ok) logger.warn("admin_sign_in_mail_failed", { status: result.error.status, kind: result.error.kind });
}

/** Counts a sign-in request against the per-client and per-address limits; a 429 when over either. */
async function limitSignIns(c: Context<AppEnv>, address: string, now: number): Promise<void> {
  const { db, config, clientIp } = c.get("deps");
  let ip: string | undefined;
  try {
    ip = clientIp ? clientIp(c) : c.req.header("cf-connecting-ip");
  } catch {
    ip = undefined;
  }
  const checks = [
    hitRateLimit(db, await keyedHash(config.appSecret, `admin-login-ip:${ip ?? "unknown"}`), LOGIN_LIMITS.perIp, now),
    hitRateLimit(db, await keyedHash(config.appSecret, `admin-login-email:${address}`), LOGIN_LIMITS.perAddress, now),
  ];
  const over = (await Promise.all(checks)).find((result) => !result.allowed);
  if (over) {
    throw new AppError(429, "rate_limited", "Too many sign-in requests. Please wait a few minutes and try again.", { "Retry-After": String(over.retryAfterSeconds) });
  }
}

export const authRoutes = new Hono<AppEnv>()
  .get("/login", (c) => c.html(<LoginPage {...site(c.get("deps").config)} />))
  // The same answer for every well-formed address, operator or not, so the form tells nobody who the operators are.
  .post("/login", async (c) => {
    const { config, clock, logger } = c.get("deps");
    const now = clock();
    const body: Record<string, unknown> = (await formFields(c)) ?? {};
    const parsed = emailAddress.safeParse(typeof body.email === "string" ? body.email : "");
    if (!parsed.success) return c.html(<LoginPage {...site(config)} error={parsed.error.issues[0]?.message} />, 400);
    await limitSignIns(c, parsed.data, now);
    if (config.adminEmails.includes(parsed.data)) await mailSignInLink(c, parsed.data, now);
    logger.info("admin_sign_in_requested");
    return c.html(<LoginPage {...site(config)} sent />);
  })
  // Opening the link changes nothing (mail scanners fetch links); the button POSTs the token.
  .get("/sign-in", (c) => {
    const token = c.req.query("token") ?? "";
    c.header("Referrer-Policy", "no-referrer");
    return c.html(
      <ConsolePage title="Sign in to the console" brandName={c.get("deps").config.brandName}>
        <form method="post" action="/admin/sign-in">
          <input type="hidden" name="token" value={token.slice(0, 200)} />
          <button type="submit">Sign in</button>
        </form>
      </ConsolePage>,
    );
  })
  .post("/sign-in", async (c) => {
    const { db, config, clock, logger } = c.get("deps");
    const now = clock();
    const body: Record<string, unknown> = (await formFields(c)) ?? {};
    const email = typeof body.token === "string" ? await redeemSignInToken(db, body.token, now) : undefined;
    if (!email || !config.adminEmails.includes(email)) {
      throw new AppError(400, "invalid_link", "This sign-in link has expired or was used already. Ask for a new one on the sign-in page.");
    }
    const { id, session } = await createSession(db, email, now);
    // Used and expired links and sessions are dropped now and then, so the tables stay small.
    if (Math.random() < 0.1) await pruneSignIns(db, now);
    const cookie = cookieSpec(config);
    setCookie(c, cookie.name, id, { path: "/", httpOnly: true, secure: cookie.secure, sameSite: "Strict", maxAge: SESSION_TTL_MS / 1000 });
    logger.info("admin_signed_in", { session: session.idHash.slice(0, 12) });
    return c.redirect("/admin", 303);
  });

/** Sign-out: the session row is revoked (the cookie alone would live on in a copied browser profile). */
export const logoutRoutes = new Hono<ConsoleEnv>().post("/logout", requireOperator, async (c) => {
  await readConsoleForm(c);
  const { db, config, clock, logger } = c.get("deps");
  const operator = c.get("operator");
  await revokeSession(db, operator.idHash, clock());
  deleteCookie(c, cookieSpec(config).name, { path: "/", secure: cookieSpec(config).secure });
  logger.info("admin_signed_out", { session: operator.idHash.slice(0, 12) });
  return c.redirect("/admin/login", 303);
});

