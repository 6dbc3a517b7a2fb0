import { Resend } from "resend";
import type { BatchResult, MailError, MailErrorKind, Mailer, OutgoingEmail, RateLimitInfo, SendOptions, SendResult } from "./mailer";

export interface ResendMailerOptions {
  apiKey: string;
  baseUrl?: string;
  /** Every provider call is abandoned after this long and reported as a retryable failure. */
  timeoutMs?: number;
}

type ResendError = { name?: string; message?: string; statusCode?: number | null } | null;
type Headers = Record<string, string> | null;

/** Resend names the field it refuses; only a bad `to` is about one recipient. */
const RECIPIENT_FIELD = /`to`|\bto\b field|recipient/i;

export function classifyResendError(error: NonNullable<ResendError>, headers: Headers): MailError {
  const status = typeof error.statusCode === "number" ? error.statusCode : null;
  const name = error.name ?? "application_error";
  const message = error.message ?? "Unknown provider error";
  // A request with the same idempotency key still in flight settles by itself: ask again later.
  const transient = name === "concurrent_idempotent_requests" || status === null || status === 408 || status === 429 || status >= 500;
  const kind: MailErrorKind = transient ? "transient" : (status === 400 || status === 422) && RECIPIENT_FIELD.test(message) ? "recipient" : "rejected";
  return { status, name, message, kind, retryAfterMs: retryAfterMs(headers) };
}

/** `retry-after` in seconds (or an HTTP date), else `ratelimit-reset` in seconds. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const retryAfter = headers["retry-after"];
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(retryAfter);
    if (Number.isFinite(date)) return Math.max(0, date - now);
  }
  const reset = Number(headers["ratelimit-reset"]);
  return Number.isFinite(reset) && headers["ratelimit-reset"] !== undefined ? Math.max(0, reset * 1000) : undefined;
}

export function rateLimitInfo(headers: Headers): RateLimitInfo | undefined {
  if (!headers || headers["ratelimit-remaining"] === undefined) return undefined;
  const remaining = Number(headers["ratelimit-remaining"]);
  const reset = Number(headers["ratelimit-reset"] ?? 1);
  if (!Number.isFinite(remaining)) return undefined;
  return { remaining, resetMs: Number.isFinite(reset) ? reset * 1000 : 1000 };
}

/**
 * Resend's permissive answer lists the ids of the emails it took (in order) and, apart, the index
 * and message of each one it refused: one id (or null) per email sent, and the refusals as errors.
 */
function alignIds(count: number, accepted: { id: string }[], errors: { index: number; message: string }[]) {
  const refused = new Set(errors.map((e) => e.index));
  const ids: (string | null)[] = [];
  let next = 0;
  for (let i = 0; i < count; i++) ids.push(refused.has(i) ? null : (accepted[next++]?.id ?? null));
  // Classified like a whole-batch 422: a refused `to` is about that recipient, anything else is ours.
  const rejected = errors.map((e) => ({ index: e.index, error: classifyResendError({ statusCode: 422, name: "validation_error", message: e.message }, null) }));
  return rejected.length > 0 ? { ids, rejected } : { ids };
}

function toPayload(email: OutgoingEmail) {
  return {
    from: email.from,
    to: [email.to],
    ...(email.replyTo !== undefined && { replyTo: email.replyTo }),
    subject: email.subject,
    html: email.html,
    text: email.text,
    headers: email.headers,
    tags: email.tags,
  };
}

export function createResendMailer(options: ResendMailerOptions): Mailer {
  const resend = new Resend(options.apiKey, { baseUrl: options.baseUrl });
  const timeoutMs = options.timeoutMs ?? 15_000;
  const requestOptions = (send: SendOptions | undefined) => ({
    idempotencyKey: send?.idempotencyKey,
    signal: AbortSignal.timeout(timeoutMs),
  });

  return {
    kind: "resend",
    async send(email, send): Promise<SendResult> {
      const { data, error, headers } = await resend.emails.send(toPayload(email), requestOptions(send));
      if (error || !data) return { ok: false, error: classifyResendError(error ?? {}, headers) };
      return { ok: true, id: data.id };
    },
    async sendBatch(emails, send): Promise<BatchResult> {
      const batchValidation = send?.batchValidation ?? "strict";
      const { data, error, headers } = await resend.batch.send(emails.map(toPayload), { ...requestOptions(send), batchValidation });
      if (error || !data) return { ok: false, error: classifyResendError(error ?? {}, headers) };
      const errors = "errors" in data && Array.isArray(data.errors) ? (data.errors as { index: number; message: string }[]) : [];
      return { ok: true, ...alignIds(emails.length, data.data, errors), rateLimit: rateLimitInfo(headers) };
    },
  };
}
