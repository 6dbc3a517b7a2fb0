import { Webhook, WebhookVerificationError } from "standardwebhooks";

/**
 * Verifies Resend's webhook signatures with the reference Standard Webhooks library (the scheme
 * Svix signs with: HMAC-SHA256 over `{id}.{timestamp}.{body}`, several `v1,` signatures while a
 * secret rotates). The library refuses timestamps more than five minutes from the wall clock, so
 * a captured request cannot be replayed later; it is pure JavaScript and runs in Workers too.
 */

export interface WebhookSignatureHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type WebhookVerification =
  | { ok: true }
  | { ok: false; reason: "missing_headers" | "invalid_timestamp" | "stale_timestamp" | "invalid_signature" };

const MAX_HEADER_LENGTH = 4096;

/** The library's error messages, as reasons a client can act on. */
function reasonFor(error: unknown): Exclude<WebhookVerification, { ok: true }>["reason"] {
  const message = error instanceof WebhookVerificationError ? error.message : "";
  if (message === "Missing required headers") return "missing_headers";
  if (message === "Invalid Signature Headers") return "invalid_timestamp";
  if (message.startsWith("Message timestamp too")) return "stale_timestamp";
  return "invalid_signature";
}

const verifiers = new Map<string, Webhook>();

export function verifyWebhookSignature(secret: string, headers: WebhookSignatureHeaders, payload: string): WebhookVerification {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || [id, timestamp, signature].some((value) => value.length > MAX_HEADER_LENGTH)) {
    return { ok: false, reason: "missing_headers" };
  }
  let verifier = verifiers.get(secret);
  if (!verifier) {
    verifier = new Webhook(secret);
    verifiers.set(secret, verifier);
  }
  try {
    verifier.verify(payload, { "webhook-id": id, "webhook-timestamp": timestamp, "webhook-signature": signature });
    return { ok: true };
  } catch (error) {
    // The library parses the body as JSON once the signature checks out: a signed body that is
    // not JSON is authentic, and the route answers it with its own 400.
    if (error instanceof SyntaxError) return { ok: true };
    return { ok: false, reason: reasonFor(error) };
  }
}
