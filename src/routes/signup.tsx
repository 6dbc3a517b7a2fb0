/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { recordSignup } from "../db/subscribers";
import { resolveTimeZone } from "../drip/schedule";
import { emailAddress } from "../lib/email-address";
import { AppError, badRequest } from "../lib/errors";
import { signedConfirmUrl } from "../lib/links";
import { composeConfirmation } from "../mail/compose";
import { LandingPage, type SignupFormState } from "../pages/landing";
import { MessagePage } from "../pages/layout";
import { siteInfo, wantsJson } from "./helpers";

const NAME_MAX = 60;

const signupSchema = z.object({
  email: emailAddress,
  firstName: z
    .string()
    .trim()
    .max(NAME_MAX, `Please keep your first name under ${NAME_MAX} characters.`)
    .refine((value) => !/\p{Cc}/u.test(value), "Please use only letters, spaces and punctuation in your name.")
    .transform((value) => (value === "" ? null : value))
    .nullish(),
  timeZone: z.string().max(100).nullish(),
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

export const signupRoutes = new Hono<AppEnv>()
  .post("/subscribe", async (c) => {
    const { db, mailer, clock, config, logger } = c.get("deps");
    const body = await readBody(c);
    const parsed = signupSchema.safeParse(body);

    if (!parsed.success) {
      const errors = fieldErrors(parsed.error);
      const message = errors.email ?? errors.firstName ?? errors.form ?? "Please check the form.";
      if (wantsJson(c)) throw new AppError(400, "invalid_signup", message);
      const form = { email: asText(body.email), firstName: asText(body.firstName), timeZone: asText(body.timeZone), errors };
      return c.html(<LandingPage site={siteInfo(config)} sendHour={config.sendHour} form={form} />, 400);
    }

    const now = clock();
    const { email, firstName, timeZone } = parsed.data;
    const subscriber = await recordSignup(db, { email, firstName: firstName ?? null, timeZone: resolveTimeZone(timeZone) }, now);

    // The answer is the same whether the address is new, pending or already active, so the form
    // cannot be used to find out who is subscribed.
    if (subscriber) {
      const url = await signedConfirmUrl(config.appUrl, config.appSecret, subscriber.id, subscriber.confirmationNonce, now);
      const result = await mailer.send(await composeConfirmation(config, subscriber, url));
      if (!result.ok) {
        logger.warn("confirmation_send_failed", { subscriberId: subscriber.id, status: result.error.status, reason: result.error.name });
        throw new AppError(503, "mail_unavailable", "We couldn't send your confirmation email just now. Please try again in a few minutes.", {
          "Retry-After": "120",
        });
      }
      logger.info("signup", { subscriberId: subscriber.id });
    }

    if (wantsJson(c)) return c.json({ status: "pending", message: "Check your inbox for a confirmation link." }, 202);
    return c.redirect("/check-your-inbox", 303);
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
        <p class="hint">Nothing there? Check your spam or promotions folder, or sign up again to get a new link.</p>
      </MessagePage>,
    );
  });
