/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { CONFIRMATION_EMAIL, coursesOf, type Course } from "../course";
import { findEnrollment, recordSignup, type Subscriber } from "../db/subscribers";
import { resolveTimeZone } from "../drip/schedule";
import { emailAddress } from "../lib/email-address";
import { AppError, badRequest } from "../lib/errors";
import { firstName } from "../lib/first-name";
import { keyedHash } from "../lib/hash";
import { signedConfirmUrl, signedSubscriberLinks } from "../lib/links";
import { hitRateLimit, hitRateLimitsInOrder, releaseRateLimit, type RateLimitResult } from "../lib/rate-limit";
import { checkFormToken, clientIp, freshFormState, honeypotFilled, ipBucket, verifyTurnstile, type FormTokenCheck } from "../lib/signup-guard";
import type { SignupDetails } from "../lib/tokens";
import { composeAlreadySubscribed, composeConfirmation } from "../mail/compose";
import type { SendResult } from "../mail/mailer";
import { LandingPage, type SignupFormState } from "../pages/landing";
import { MessagePage } from "../pages/layout";
import { formFields, fromAnotherSite, sentJson, siteInfo, wantsJson } from "./helpers";

const TIME_ZONE_MAX = 100;

const signupSchema = z.object({
  email: emailAddress,
  firstName,
  timeZone: z.string({ error: "The time zone must be text." }).max(TIME_ZONE_MAX, "The time zone is too long.").nullish(),
});

type FieldErrors = NonNullable<SignupFormState["errors"]>;

function fieldErrors(error: z.ZodError): FieldErrors {
  const errors: FieldErrors = {};
  for (const issue of error.issues) {
    const field = issue.path[0] === "email" || issue.path[0] === "firstName" ? issue.path[0] : "form";
    errors[field] ??= issue.message;
  }
  return errors;
}

async function readBody(c: Context<AppEnv>): Promise<Record<string, unknown>> {
  if (sentJson(c)) {
    const body: unknown = await c.req.json().catch(() => {
      throw badRequest("The request body is not valid JSON.", "invalid_json");
    });
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("Expected a JSON object.");
    return body as Record<string, unknown>;
  }
  const form = await formFields(c);
  if (!form) throw badRequest("The form could not be read.", "invalid_form");
  return form;
}

const asText = (value: unknown) => (typeof value === "string" ? value.slice(0, 300) : undefined);

const CHECK_YOUR_INBOX = { status: "pending", message: "Check your inbox for a confirmation link." } as const;

/** Clients whose address cannot be determined share this one bucket rather than skipping the limit. */
const UNKNOWN_CLIENT = "unknown";

/**
 * A refusal that says why and when to come back, answered cheaply: JSON, or a short message page
 * (never the whole landing page), with `Retry-After` in seconds.
 */
function tooMany(c: Context<AppEnv>, code: string, message: string, retryAfterSeconds: number) {
  const retryAfter = String(retryAfterSeconds);
  if (wantsJson(c)) throw new AppError(429, code, message, { "Retry-After": retryAfter });
  c.header("Retry-After", retryAfter);
  return c.html(
    <MessagePage title="Please try again later" site={siteInfo(c.get("deps").config)}>
      <p class="lead">{message}</p>
    </MessagePage>,
    429,
  );
}

const inWords = (seconds: number) => {
  const minutes = Math.ceil(seconds / 60);
  if (minutes <= 90) return `${minutes} minute${minutes === 1 ? "" : "s"}`;
  const hours = Math.ceil(minutes / 60);
  return hours >= 20 ? "a day" : `${hours} hours`;
};

/** A hit counted against the per-address limit before the email is sent: its counter's key and result. */
export interface AddressHit {
  key: string;
  limit: RateLimitResult;
}

/** The per-address counter's key: a keyed hash of the address, never the address itself. */
const addressKey = (secret: string, email: string) => keyedHash(secret, `email:${email}`);

/**
 * Both signup limits in one database round trip: the client's (its IP bucket, or the shared
 * unknown one), then the address's, which is counted only while the client is within its limit.
 * Returns the 429 to answer when the client is over its limit, else the address's hit, which the
 * caller must take back unless the provider accepts the email (`deliver` does).
 */
async function countSignup(c: Context<AppEnv>, ip: string | undefined, email: string, now: number) {
  const { db, config, logger } = c.get("deps");
  const bucket = ip ? ipBucket(ip) : UNKNOWN_CLIENT;
  const [clientKey, key] = await Promise.all([keyedHash(config.appSecret, `ip:${bucket}`), addressKey(config.appSecret, email)]);
  const [client, limit] = await hitRateLimitsInOrder(
    db,
    [
      { key: clientKey, rule: config.signupLimits.perIp },
      { key, rule: config.signupLimits.perAddress },
    ],
    now,
  );
  if (client!.allowed) return { address: { key, limit: limit! } satisfies AddressHit };
  logger.warn("signup_rate_limited", { scope: ip ? "ip" : "unknown_client" });
  const message = `Too many signups from your network. Please try again in ${inWords(client!.retryAfterSeconds)}.`;
  return { refused: tooMany(c, "rate_limited", message, client!.retryAfterSeconds) };
}

/**
 * The email this signup sends: a confirmation carrying `details` (and the course, when it is not
 * the default one), or for an address already enrolled in that course its manage link. An active
 * subscriber joining another course gets a confirmation too (anyone can type an address into a
 * form), which enrols them without confirming the address again.
 */
async function emailFor(c: Context<AppEnv>, subscriber: Subscriber, details: SignupDetails, now: number, course: Course) {
  const { config, db } = c.get("deps");
  const isDefault = course.slug === coursesOf(c.get("deps")).defaultCourse.slug;
  if (subscriber.status === "active" && (await findEnrollment(db, subscriber.id, course.slug))) {
    const { manageUrl } = await signedSubscriberLinks(config.appUrl, config.appSecret, subscriber.id);
    return composeAlreadySubscribed(config, subscriber, manageUrl);
  }
  const slug = isDefault ? undefined : course.slug;
  const url = await signedConfirmUrl(config.appUrl, config.appSecret, subscriber.id, subscriber.confirmationNonce, now, details, slug);
  // Greeted as they typed it: those are the details the link will apply.
  return composeConfirmation(config, { ...subscriber, firstName: details.firstName }, url, isDefault ? undefined : course);
}

/**
 * Sends the one email of a signup, counted against the per-address limit only once the provider has
 * accepted it. Returns the provider's result, or "limit" when the address had its share already.
 */
async function sendCounted(c: Context<AppEnv>, subscriber: Subscriber, details: SignupDetails, now: number, course: Course, counted?: AddressHit) {
  const { db, mailer, config } = c.get("deps");
  // Count first (one atomic statement, so concurrent signups cannot all slip under the limit), and
  // take the hit back if the provider does not accept the email. The form counted it already.
  const key = counted?.key ?? (await addressKey(config.appSecret, subscriber.email));
  const limit = counted?.limit ?? (await hitRateLimit(db, key, config.signupLimits.perAddress, now));
  // Rendered either way, so an address over its limit takes the same work as any other.
  const message = await emailFor(c, subscriber, details, now, course);
  if (!limit.allowed) {
    await releaseRateLimit(db, key);
    return { outcome: "limit" as const, retryAfterSeconds: limit.retryAfterSeconds };
  }
  const result: SendResult = await mailer.send(message);
  if (!result.ok) await releaseRateLimit(db, key);
  return { outcome: "sent" as const, result };
}

/** The course a signup names (form field `course`, a slug); absent = the default course; null = no such course. */
function courseIn(c: Context<AppEnv>, value: unknown): Course | null {
  const registry = coursesOf(c.get("deps"));
  if (value === undefined || value === "") return registry.defaultCourse;
  return typeof value === "string" ? (registry.courseBySlug(value) ?? null) : null;
}

/** Why a form token does not let this post through, or undefined when it does. */
function formTokenProblem(token: FormTokenCheck): { code: string; message: string } | undefined {
  // The form carries a signed "served at" time, and every post must bring it, as a form field or a
  // JSON `formToken`: our page always renders it, with or without JavaScript, so only a script
  // posting straight at /subscribe lacks it (integrations enrol people through /api/v1 instead).
  if (token === "ok") return undefined;
  // Browser autofill and a quick click can beat the minimum fill time: nothing was sent, so say so
  // and ask for one more click (the fields are kept). A day-old form is a tab left open.
  const message =
    token === "too_fast"
      ? "Almost there: please check your details and press the button once more."
      : token === "expired"
        ? "This page was open for a long time, so we couldn't accept the form. Please send it again."
        : "We couldn't accept the form. Please send it again.";
  return { code: `form_${token}`, message };
}

/**
 * Turnstile, when configured, for every client (skipping it for JSON would only move bots over to
 * JSON). A missing or unreadable widget answer fails. Returns the message to show, or undefined.
 */
async function turnstileProblem(c: Context<AppEnv>, answer: unknown, ip: string | undefined): Promise<string | undefined> {
  const { config, logger } = c.get("deps");
  if (!config.turnstile) return undefined;
  const outcome = await verifyTurnstile(config.turnstile, answer, ip);
  if (outcome === "passed") return undefined;
  logger.info("signup_refused", { reason: `turnstile_${outcome}` });
  return outcome === "unavailable"
    ? "We couldn't complete the anti-spam check just now. Please try again in a moment."
    : "Please complete the anti-spam check (the box above the button) and send the form again.";
}

export const signupRoutes = new Hono<AppEnv>()
  .post("/subscribe", async (c) => {
    const { config, logger } = c.get("deps");
    const json = wantsJson(c);
    // Another site's page could otherwise make its visitors' browsers sign strangers up, each from
    // the visitor's own address (around the per-client limit).
    if (fromAnotherSite(c)) {
      logger.info("signup_refused", { reason: "cross_site" });
      throw new AppError(403, "cross_site", "Please sign up on our own page: forms from other sites are not accepted.");
    }
    const body = await readBody(c);
    const now = c.get("deps").clock();

    // People never see the honeypot: only a bot fills it, and a bot learns nothing from a calm answer.
    if (honeypotFilled(body.website)) {
      logger.info("signup_refused", { reason: "honeypot" });
      return json ? c.json(CHECK_YOUR_INBOX, 202) : c.redirect("/check-your-inbox", 303);
    }

    const token = await checkFormToken(config.appSecret, body.formToken, now);
    /** The form again, with what was typed, a message, and a form token that is still good. */
    const formAgain = async (status: ContentfulStatusCode, errors: FieldErrors, options: { retry?: boolean } = {}) => {
      const fresh = await freshFormState(config, now, options);
      const form: SignupFormState = {
        email: asText(body.email),
        firstName: asText(body.firstName),
        timeZone: asText(body.timeZone),
        errors,
        // The person has already spent their time on the form: keep its original time.
        formToken: token === "ok" ? (body.formToken as string) : fresh.formToken,
        turnstileSiteKey: fresh.turnstileSiteKey,
      };
      const course = courseIn(c, body.course);
      return c.html(<LandingPage site={siteInfo(config)} sendHour={config.sendHour} form={form} course={course ?? undefined} />, status);
    };
    /** A 400: the JSON error, or the form again with the message. */
    const refuse = (code: string, errors: FieldErrors, options: { retry?: boolean } = {}) => {
      if (json) throw new AppError(400, code, errors.email ?? errors.firstName ?? errors.form ?? "Please check the form.");
      return formAgain(400, errors, options);
    };

    const tokenProblem = formTokenProblem(token);
    if (tokenProblem) {
      logger.info("signup_refused", { reason: tokenProblem.code });
      return refuse(tokenProblem.code, { form: tokenProblem.message }, { retry: token === "too_fast" });
    }

    const course = courseIn(c, body.course);
    if (!course) return refuse("unknown_course", { form: "We don't run that course. Please pick one from the course list at /courses." });
    const parsed = signupSchema.safeParse(body);
    if (!parsed.success) return refuse("invalid_signup", fieldErrors(parsed.error));
    const { email } = parsed.data;
    const details: SignupDetails = { firstName: parsed.data.firstName ?? null, timeZone: resolveTimeZone(parsed.data.timeZone) };

    // Per client: a real limit, told plainly (with Retry-After) because a person behind a busy
    // network needs to know to wait. Clients whose address is unknown share one bucket. The
    // address's limit is counted in the same statement and checked once the email is rendered.
    const ip = clientIp(c);
    const counted = await countSignup(c, ip, email, now);
    if (counted.refused) return counted.refused;

    const antiSpam = await turnstileProblem(c, body["cf-turnstile-response"], ip);
    if (antiSpam) {
      await releaseRateLimit(c.get("deps").db, counted.address.key);
      return refuse("turnstile_failed", { form: antiSpam });
    }

    const response = await deliver(c, email, details, now, refuse, course, counted.address);
    return response ?? (json ? c.json(CHECK_YOUR_INBOX, 202) : c.redirect("/check-your-inbox", 303));
  })
  .get("/check-your-inbox", (c) => {
    const { config } = c.get("deps");
    return c.html(
      <MessagePage title="Check your inbox" site={siteInfo(config)}>
        <p class="lead">We've sent you an email with a link to confirm your subscription.</p>
        <p>
          Open it, click <strong>{CONFIRMATION_EMAIL.button}</strong>, then press <strong>Confirm</strong> on the page that
          opens. Your lessons start right after. The link works for 48 hours.
        </p>
        <p class="hint">
          Already subscribed? Then the email has your link to manage your subscription instead, and there's nothing to confirm.
        </p>
        <p class="hint">Nothing there? Check your spam or promotions folder, or sign up again to get a new link.</p>
      </MessagePage>,
    );
  });

/**
 * Records the signup and sends its one email. New, pending, active and suppressed addresses take the
 * same path: the same statements, the same rendering, one email through the provider (a confirmation,
 * or for an active address a note with their manage link) and the same answers, so neither the answer
 * nor the time it takes tells anyone whether an address is subscribed or once bounced.
 * Returns undefined when the email went out (the caller answers "check your inbox"), else the answer.
 * `counted`: the per-address hit the caller already counted (taken back here unless the email goes
 * out); without it, it is counted here.
 */
export async function deliver(
  c: Context<AppEnv>,
  email: string,
  details: SignupDetails,
  now: number,
  refuse: (code: string, errors: FieldErrors) => Promise<Response>,
  course: Course,
  counted?: AddressHit,
): Promise<Response | undefined> {
  const { db, logger } = c.get("deps");
  const uncount = async () => {
    if (counted) await releaseRateLimit(db, counted.key);
  };
  const subscriber = await recordSignup(db, { email, ...details }, now).catch(async (error: unknown) => {
    await uncount().catch(() => undefined);
    throw error;
  });
  if (!subscriber) {
    await uncount();
    throw new AppError(409, "signup_conflict", "Your signup crossed with another change. Please send the form again.");
  }

  const sent = await sendCounted(c, subscriber, details, now, course, counted);
  if (sent.outcome === "limit") {
    logger.info("signup_refused", { reason: "address_limit" });
    const message = `We've already sent several emails to this address. Please check your inbox (and your spam folder), or try again in ${inWords(sent.retryAfterSeconds)}.`;
    return tooMany(c, "address_limit", message, sent.retryAfterSeconds);
  }
  const { result } = sent;
  if (result.ok) {
    logger.info(subscriber.status === "active" ? "signup_already_subscribed" : "signup", { subscriberId: subscriber.id });
    return undefined;
  }
  logger.warn("confirmation_send_failed", { subscriberId: subscriber.id, status: result.error.status, reason: result.error.name });
  // The provider refused the recipient itself: a typo or a mailbox that cannot exist, the person's to fix.
  if (result.error.kind === "recipient") {
    return refuse("address_refused", {
      email: "Our mail provider refused this email address. Please check it for typos, or use another address.",
    });
  }
  throw new AppError(503, "mail_unavailable", "We couldn't send your confirmation email just now. Please try again in a few minutes.", {
    "Retry-After": "120",
  });
}
