/**
 * Verifies Standard Webhooks signatures (https://www.standardwebhooks.com/), the scheme Svix signs
 * Resend's webhooks with: `base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}"))`, sent as
 * `v1,<signature>` (several, space-separated, while a secret is being rotated). WebCrypto only, so
 * it runs on Node and in Workers alike, and the time check uses the injected clock.
 */

/** Older (or newer) messages are refused: a captured request cannot be replayed later. */
export const WEBHOOK_TOLERANCE_MS = 5 * 60 * 1000;

export interface WebhookSignatureHeaders {
  id: string | undefined;
  timestamp: string | undefined;
  signature: string | undefined;
}

export type WebhookVerification =
  | { ok: true }
  | { ok: false; reason: "missing_headers" | "invalid_timestamp" | "stale_timestamp" | "invalid_signature" };

const MAX_ID_LENGTH = 256;
const MAX_SIGNATURE_HEADER_LENGTH = 4096;

/** The key bytes of a `whsec_…` secret (the prefix is optional). */
function secretBytes(secret: string): Uint8Array<ArrayBuffer> {
  return base64Decode(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret);
}

function base64Decode(value: string): Uint8Array<ArrayBuffer> {
  const binary = atob(value);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", secretBytes(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keys.set(secret, key);
  }
  return key;
}

export async function verifyWebhookSignature(
  secret: string,
  headers: WebhookSignatureHeaders,
  payload: string,
  now: number,
): Promise<WebhookVerification> {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || id.length > MAX_ID_LENGTH || signature.length > MAX_SIGNATURE_HEADER_LENGTH) {
    return { ok: false, reason: "missing_headers" };
  }
  if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: "invalid_timestamp" };
  if (Math.abs(now - Number(timestamp) * 1000) > WEBHOOK_TOLERANCE_MS) return { ok: false, reason: "stale_timestamp" };

  const key = await hmacKey(secret);
  const signed = new TextEncoder().encode(`${id}.${timestamp}.${payload}`);
  for (const candidate of signature.split(" ")) {
    const [version, value] = candidate.split(",");
    if (version !== "v1" || !value) continue;
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = base64Decode(value);
    } catch {
      continue;
    }
    // WebCrypto's verify compares in constant time.
    if (await crypto.subtle.verify("HMAC", key, bytes, signed)) return { ok: true };
  }
  return { ok: false, reason: "invalid_signature" };
}
