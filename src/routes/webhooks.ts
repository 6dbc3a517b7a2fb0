import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { applyWebhookEvent, pruneWebhookEvents, type WebhookEffect } from "../db/webhooks";
import { emailAddress } from "../lib/email-address";
import { AppError, badRequest } from "../lib/errors";
import { keyedHash } from "../lib/hash";
import { verifyWebhookSignature, type WebhookVerification } from "../lib/webhook-signature";

/**
 * Resend's webhooks (https://resend.com/docs/dashboard/webhooks/introduction), signed by Svix
 * with the Standard Webhooks scheme. Delivery news updates the delivery's status; a hard bounce
 * or a complaint suppresses the address and ends its course at once. Every event id is applied
 * once: Svix delivers at least once and retries anything that is not a 2xx.
 */

type Rejection = Exclude<WebhookVerification, { ok: true }>["reason"];

const REJECTIONS: Record<Rejection, string> = {
  missing_headers: "The webhook signature headers (svix-id, svix-timestamp, svix-signature) are missing.",
  invalid_timestamp: "The webhook timestamp is not a Unix time in seconds.",
  stale_timestamp: "The webhook timestamp is more than five minutes away from our clock; it may be a replay.",
  invalid_signature: "The webhook signature does not match.",
};

const envelope = z.object({ type: z.string().min(1).max(100), data: z.unknown() });

/** Only the fields we act on; anything malformed in them reads as absent rather than failing the event. */
const emailEventData = z.object({
  email_id: z.string().min(1).max(256).optional().catch(undefined),
  to: z
    .union([z.array(z.unknown()), z.string()])
    .optional()
    .catch(undefined),
  bounce: z
    .object({ type: z.string().max(100).optional().catch(undefined), subType: z.string().max(100).optional().catch(undefined) })
    .optional()
    .catch(undefined),
});

type EmailEventData = z.infer<typeof emailEventData>;

const STATUS_EVENTS = {
  "email.delivered": "delivered",
  "email.delivery_delayed": "delivery_delayed",
  "email.opened": "opened",
  "email.clicked": "clicked",
} as const;

/**
 * Resend documents `email.bounced` as a permanent rejection and passes on the mail server's
 * classification in `bounce.type` (Permanent / Transient / Undetermined). Only a classification
 * that says "not permanent" keeps the address; an absent one is taken at Resend's word.
 */
export function isHardBounce(bounce: EmailEventData["bounce"]): boolean {
  const type = bounce?.type?.trim().toLowerCase();
  return type === undefined || type === "" || type === "permanent" || type === "hard";
}

/** The first recipient, normalised the way signups are, or undefined if it is not an address. */
function recipient(to: EmailEventData["to"]): string | undefined {
  const first = Array.isArray(to) ? to[0] : to;
  const parsed = emailAddress.safeParse(first);
  return parsed.success ? parsed.data : undefined;
}

/** A short, safe note for the operator (the bounce message itself can quote the address). */
function bounceNote(bounce: EmailEventData["bounce"]): string {
  const clean = (value: string | undefined) => (value ?? "").replace(/[^\w -]/g, "").slice(0, 40) || "unknown";
  return `bounce: ${clean(bounce?.type)}/${clean(bounce?.subType)}`;
}

export function effectOf(type: string, rawData: unknown): WebhookEffect {
  // Own keys only: "valueOf" or "constructor" are in every object.
  if (!Object.hasOwn(STATUS_EVENTS, type) && type !== "email.bounced" && type !== "email.complained" && type !== "email.suppressed") {
    return { kind: "ignore" };
  }
  const parsed = emailEventData.safeParse(rawData);
  const data: EmailEventData = parsed.success ? parsed.data : {};
  const emailId = data.email_id;
  switch (type) {
    case "email.bounced":
      return isHardBounce(data.bounce)
        ? { kind: "suppress", reason: "bounced", emailId, to: recipient(data.to), note: bounceNote(data.bounce) }
        : { kind: "status", status: "bounced", emailId, note: bounceNote(data.bounce) };
    case "email.complained":
      return { kind: "suppress", reason: "complained", emailId, to: recipient(data.to) };
    case "email.suppressed":
      // Resend refused to send: the address is on its suppression list after an earlier bounce
      // or complaint. It will refuse every lesson too, so treat it as the hard bounce it stands for.
      return { kind: "suppress", reason: "bounced", emailId, to: recipient(data.to), note: "suppressed by provider" };
    default:
      return { kind: "status", status: STATUS_EVENTS[type as keyof typeof STATUS_EVENTS], emailId };
  }
}

export const webhookRoutes = new Hono<AppEnv>().post("/webhooks/resend", async (c) => {
  const { db, clock, config, logger } = c.get("deps");
  const secret = config.resendWebhookSecret;
  // Without a secret nothing can be verified, and an unverified event must never be acted on.
  if (!secret) {
    throw new AppError(503, "webhooks_not_configured", "Webhooks are not configured on this server: set RESEND_WEBHOOK_SECRET.");
  }

  // The signature covers the exact bytes sent, so verify the raw text before parsing it.
  const payload = await c.req.text();
  const header = (name: string) => c.req.header(`svix-${name}`) ?? c.req.header(`webhook-${name}`);
  const now = clock();
  const id = header("id");
  const verification = verifyWebhookSignature(secret, { id, timestamp: header("timestamp"), signature: header("signature") }, payload);
  if (!verification.ok) {
    logger.warn("webhook_rejected", { reason: verification.reason });
    throw new AppError(401, verification.reason, REJECTIONS[verification.reason]);
  }

  let body: unknown;
  try {
    body = JSON.parse(payload);
  } catch {
    throw badRequest("The webhook body is not valid JSON.", "invalid_json");
  }
  const event = envelope.safeParse(body);
  if (!event.success) throw badRequest("The webhook body is not an event: it needs a string `type`.", "invalid_event");

  const effect = effectOf(event.data.type, event.data.data);
  const outcome = await applyWebhookEvent(db, { id: id!, type: event.data.type, receivedAt: now }, effect, (email) =>
    keyedHash(config.appSecret, email),
  );
  logger.info("webhook_event", {
    type: event.data.type,
    outcome: outcome.status,
    ...(outcome.status !== "duplicate" && { matchedDelivery: outcome.matchedDelivery, subscriberId: outcome.subscriberId }),
  });
  // Ids only need to outlive the provider's retries; trimming now and then keeps the table small.
  if (Math.random() < 0.01) await pruneWebhookEvents(db, now);
  return c.json({ status: outcome.status });
});
