/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { isSuppressed, recordSignup } from "../db/subscribers";
import { resolveTimeZone } from "../drip/schedule";
import { emailAddress } from "../lib/email-address";
import { AppError, badRequest } from "../lib/errors";
import { keyedHash } from "../lib/hash";
import { signedConfirmUrl, signedSubscriberLinks } from "../lib/links";
import { hitRateLimit, pruneRateLimits } from "../lib/rate-limit";
import { checkFormToken, clientIp, freshFormState, honeypotFilled, ipBucket, SIGNUP_LIMITS, verifyTurnstile } from "../lib/signup-guard";
import { composeAlreadySubscribed, composeConfirmation } from "../mail/compose";
import { LandingPage, type SignupFormState } from "../pages/landing";
import { MessagePage } from "../pages/layout";
import { siteInfo, wantsJson } from "./helpers";

const NAME_MAX = 60;
const TIME_ZONE_MAX = 100;

/**
 * First names go into email bodies only (never a header), escaped; still, they are held to what a
 * name looks like: letters, marks, spaces, apostrophes, hyphens and dots. No digits, slashes, `@`
 * or `:`, so the form cannot be used to put a link or an address in front of a stranger
 * ("Hi www.example.com, …").
 */
const NAME_PATTERN = /^[\p{L}\p{M}' ’.-]*$/u;

export const signupSchema = z.object({
  email: emailAddress,
  firstName: z
    .string({ error: "Please enter your first name as plain text." })
    // Control characters (CR, LF, tabs …) are refused outright rather than quietly tidied away.
    .refine((value) => !/\p{Cc}/u.test(value), "Please use only letters, spaces, hyphens and apostrophes in your first name.")
    .transform((value) => value.replace(/\p{Zs}+/gu, " ").trim())
    .pipe(
      z
        .string()
        .max(NAME_MAX, `Please keep your first name under ${NAME_MAX} characters.`)
        .refine((value) => NAME_PATTERN.test(value), "Please use only letters, spaces, hyphens and apostrophes in your first name.")
        .refine((value) => !/\.\p{L}{2}/u.test(value), "Please enter just your first name."),
    )
    .transform((value) => (value === "" ? null : value))
    .nullish(),
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
  if (wantsJson(c)) {
    const body: unknown = await c.req.json().catch(() => {
      throw badRequest("The request body is not valid JSON.", "invalid_json");
    });
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("Expected a JSON object.");
    return body as Record<string, unknown>;
  }
  const form = await c.req.parseBody().catch(() => {
    throw badRequest("The form could not be read.", "invalid_form");
  });
  // A repeated field arrives as an array; only the first value counts.
  return Object.fromEntries(Object.entries(form).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]));
}

const asText = (value: unknown) => (typeof value === "string" ? value.slice(0, 300) : undefined);

const CHECK_YOUR_INBOX = { status: "pending", message: "Check your inbox for a confirmation link." } as const;

export const signupRoutes = new Hono<AppEnv>()
  .post("/subscribe", async (c) => {
    const { db, mailer, clock, config, logger } = c.get("deps");
    const json = wantsJson(c);
    const body = await readBody(c);
    const now = clock();

    /**
     * The answer to every accepted signup, and to refusals where saying more would help an
     * attacker (a bot learning what trips the checks, or someone probing who is subscribed).
     */
    const checkYourInbox = () => (json ? c.json(CHECK_YOUR_INBOX, 202) : c.redirect("/check-your-inbox", 303));
    const refuseQuietly = (reason: string) => {
      logger.info("signup_refused", { reason });
      return checkYourInbox();
    };

    if (honeypotFilled(body.website)) return refuseQuietly("honeypot");

    // The form carries a signed "served at" time. Form posts must bring it: our page always renders
    // it, with or without JavaScript, so only a script posting straight at /subscribe lacks it.
    // JSON clients (an API, our own tests) may leave it out; they still meet the rate limits and,
    // when it is on, Turnstile. A token that is present is always checked.
    const token = await checkFormToken(config.appSecret, body.formToken, now);
    if (token === "invalid" || token === "too_fast" || (token === "missing" && !json)) return refuseQuietly(`form_${token}`);

    /** The form again, with what was typed, a message, and a form token that is still good. */
    const formAgain = async (status: ContentfulStatusCode, errors: FieldErrors) => {
      const fresh = await freshFormState(config, now);
      const form: SignupFormState = {
        email: asText(body.email),
        firstName: asText(body.firstName),
        timeZone: asText(body.timeZone),
        errors,
        // The person has already spent their time on the form: keep its original time.
        formToken: token === "ok" ? (body.formToken as string) : fresh.formToken,
        turnstileSiteKey: fresh.turnstileSiteKey,
      };
      return c.html(<LandingPage site={siteInfo(config)} sendHour={config.sendHour} form={form} />, status);
    };

    // A day-old form is a tab left open, not an attack: say so, and hand over a fresh form.
    if (token === "expired") {
      const message = "This page was open for a long time, so we couldn't accept the form. Please send it again.";
      if (json) throw new AppError(400, "form_expired", message);
      return formAgain(400, { form: message });
    }

    const parsed = signupSchema.safeParse(body);
    if (!parsed.success) {
      const errors = fieldErrors(parsed.error);
      const message = errors.email ?? errors.firstName ?? errors.form ?? "Please check the form.";
      if (json) throw new AppError(400, "invalid_signup", message);
      return formAgain(400, errors);
    }
    const { email, firstName, timeZone } = parsed.data;

    // Per client: a real limit, told plainly (with Retry-After) because a person behind a busy
    // network needs to know to wait. Without a known client address (a runtime that reports none)
    // there is nothing to count by; one shared bucket would let anyone lock everyone out.
    const ip = clientIp(c);
    if (ip) {
      const perIp = await hitRateLimit(db, await keyedHash(config.appSecret, `ip:${ipBucket(ip)}`), SIGNUP_LIMITS.perIp, now);
      if (!perIp.allowed) {
        logger.warn("signup_rate_limited", { scope: "ip" });
        const minutes = Math.ceil(perIp.retryAfterSeconds / 60);
        const message = `Too many signups from your network. Please try again in ${minutes} minute${minutes === 1 ? "" : "s"}.`;
        const retryAfter = String(perIp.retryAfterSeconds);
        if (json) throw new AppError(429, "rate_limited", message, { "Retry-After": retryAfter });
        c.header("Retry-After", retryAfter);
        return formAgain(429, { form: message });
      }
    }

    // Turnstile, when configured, applies to every client: skipping it for JSON would only move
    // bots over to JSON.
    if (config.turnstile) {
      const outcome = await verifyTurnstile(config.turnstile, body["cf-turnstile-response"], ip);
      if (outcome !== "passed") {
        logger.info("signup_refused", { reason: `turnstile_${outcome}` });
        const message =
          outcome === "unavailable"
            ? "We couldn't complete the anti-spam check just now. Please try again in a moment."
            : "Please complete the anti-spam check (the box above the button) and send the form again.";
        if (json) throw new AppError(400, "turnstile_failed", message);
        return formAgain(400, { form: message });
      }
    }

    const subscriber = await recordSignup(db, { email, firstName: firstName ?? null, timeZone: resolveTimeZone(timeZone) }, now);

    // New, pending and active addresses take the same path: the same per-address limit, one email
    // through the provider (a confirmation, or for an active address a note with their manage link),
    // the same answer and the same 503 if the provider fails. So neither the answer nor the time it
    // takes tells anyone whether an address is subscribed.
    if (subscriber) {
      // Per address: quiet, since saying "this address has had enough emails" would tell a
      // stranger the address is known to us. An address that bounced or complained gets fewer.
      const suppressed = await isSuppressed(db, await keyedHash(config.appSecret, email));
      const [scope, rule] =
        suppressed === "bounced" || suppressed === "complained"
          ? ["suppressed-email", SIGNUP_LIMITS.perSuppressedAddress]
          : ["email", SIGNUP_LIMITS.perAddress];
      const perAddress = await hitRateLimit(db, await keyedHash(config.appSecret, `${scope}:${email}`), rule, now);
      if (!perAddress.allowed) return refuseQuietly("address_limit");

      const alreadyActive = subscriber.status === "active";
      const message = alreadyActive
        ? await composeAlreadySubscribed(config, subscriber, (await signedSubscriberLinks(config.appUrl, config.appSecret, subscriber.id)).manageUrl)
        : await composeConfirmation(
            config,
            subscriber,
            await signedConfirmUrl(config.appUrl, config.appSecret, subscriber.id, subscriber.confirmationNonce, now),
          );
      const result = await mailer.send(message);
      if (!result.ok) {
        logger.warn("confirmation_send_failed", { subscriberId: subscriber.id, status: result.error.status, reason: result.error.name });
        throw new AppError(503, "mail_unavailable", "We couldn't send your confirmation email just now. Please try again in a few minutes.", {
          "Retry-After": "120",
        });
      }
      logger.info(alreadyActive ? "signup_already_subscribed" : "signup", { subscriberId: subscriber.id });
    }

    // Counters outlive their windows; clearing the old ones now and then keeps the table small.
    if (Math.random() < 0.01) await pruneRateLimits(db, now);
    return checkYourInbox();
  })
  .get("/check-your-inbox", (c) => {
    const { config } = c.get("deps");
    return c.html(
      <MessagePage title="Check your inbox" site={siteInfo(config)}>
        <p class="lead">We've sent you an email with a link to confirm your subscription.</p>
        <p>
          Open it and click <strong>Confirm my subscription</strong>. Lesson 1 arrives right after. The link works for 48
          hours.
        </p>
        <p class="hint">
          Already subscribed? Then the email has your link to manage your subscription instead, and there's nothing to confirm.
        </p>
        <p class="hint">Nothing there? Check your spam or promotions folder, or sign up again to get a new link.</p>
      </MessagePage>,
    );
  });
