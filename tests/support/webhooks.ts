import { randomUUID } from "node:crypto";
import { Webhook } from "standardwebhooks";

/** A signing secret in Resend's format: `whsec_` and base64 key bytes. */
export const TEST_WEBHOOK_SECRET = `whsec_${Buffer.from("test-webhook-signing-key-0123456789").toString("base64")}`;

export interface SignOptions {
  /** The message id (Svix keeps it across retries); random by default. */
  id?: string;
  /** When the message was signed, in milliseconds. */
  at: number;
  secret?: string;
  /** `svix` (what Resend sends) or the plain Standard Webhooks names. */
  headerPrefix?: "svix" | "webhook";
}

/**
 * A webhook request signed the way Resend's sender (Svix) signs it, with the reference
 * Standard Webhooks implementation, so our verifier is checked against someone else's signer.
 */
export function signedWebhook(body: unknown, options: SignOptions): RequestInit & { headers: Record<string, string>; id: string } {
  const payload = typeof body === "string" ? body : JSON.stringify(body);
  const id = options.id ?? `msg_${randomUUID()}`;
  const signature = new Webhook(options.secret ?? TEST_WEBHOOK_SECRET).sign(id, new Date(options.at), payload);
  const prefix = options.headerPrefix ?? "svix";
  return {
    id,
    method: "POST",
    headers: {
      "content-type": "application/json",
      [`${prefix}-id`]: id,
      [`${prefix}-timestamp`]: String(Math.floor(options.at / 1000)),
      [`${prefix}-signature`]: signature,
    },
    body: payload,
  };
}

/** A Resend email event, shaped like the ones in Resend's documentation. */
export function emailEvent(type: string, data: { emailId: string; to: string; bounceType?: string }) {
  return {
    type,
    created_at: "2026-03-02T12:00:00.000Z",
    data: {
      created_at: "2026-03-02T12:00:00.000Z",
      email_id: data.emailId,
      from: "Natural Acne Medicine <lessons@course.test>",
      to: [data.to],
      subject: "Lesson 1",
      ...(data.bounceType !== undefined && {
        bounce: { message: "The recipient's mail server permanently rejected the email.", subType: "General", type: data.bounceType },
      }),
    },
  };
}
