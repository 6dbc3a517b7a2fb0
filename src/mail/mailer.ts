/**
 * The mail port. Adapters: `resend.ts` (the real provider) and `outbox.ts` (development: JSON files).
 * Adapters never throw for a provider failure: they return it as a value the caller can act on.
 */

export interface OutgoingEmail {
  to: string;
  from: string;
  /**
   * Where replies go (lessons only, when REPLY_TO is set). `from` stays MAIL_FROM, and bounces go to
   * the provider's own envelope sender (Resend's Return-Path), so they never reach this address.
   */
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
  headers?: Record<string, string>;
  tags?: { name: string; value: string }[];
}

/**
 * What a failure means for the sender:
 * - `transient`: 429, 5xx, network errors, timeouts — the same request may succeed later;
 * - `recipient`: this address cannot be sent to — stop this subscriber, not the others;
 * - `rejected`: the provider refused our request itself (API key, sending domain, payload) — no one
 *   can be mailed until an operator fixes it, so nobody's course should be failed for it.
 */
export type MailErrorKind = "transient" | "recipient" | "rejected";

export interface MailError {
  /** HTTP status from the provider, or null for network errors and timeouts. */
  status: number | null;
  name: string;
  message: string;
  kind: MailErrorKind;
  /** How long the provider asked us to wait before the next call (Retry-After / ratelimit-reset). */
  retryAfterMs?: number;
}

export type SendResult = { ok: true; id: string } | { ok: false; error: MailError };
/**
 * A batch call's answer. `ok: true`: the provider took the request; `ids` holds one id per email,
 * in the order sent, and is null for an email the provider refused on its own (`rejected`, only with
 * `batchValidation: "permissive"`: Resend then sends the valid emails and reports each invalid one
 * by its index instead of refusing the whole batch).
 */
export type BatchResult =
  | { ok: true; ids: (string | null)[]; rejected?: RejectedEmail[]; rateLimit?: RateLimitInfo }
  | { ok: false; error: MailError };

/** One email of a batch the provider refused while sending the others (permissive validation). */
export interface RejectedEmail {
  /** Its index in the batch, from 0. */
  index: number;
  error: MailError;
}

/** The provider's rate-limit state after a call (IETF `RateLimit-*` headers, as Resend sends them). */
export interface RateLimitInfo {
  remaining: number;
  resetMs: number;
}

export interface SendOptions {
  /** Same key, same result: the provider will not send twice for a repeated key. */
  idempotencyKey?: string;
  /**
   * Batches only. `strict` (the default): one invalid email refuses the whole batch. `permissive`:
   * the valid emails go out and each invalid one comes back in `rejected`
   * (Resend's `x-batch-validation` header, https://resend.com/docs/api-reference/emails/send-batch-emails).
   */
  batchValidation?: "strict" | "permissive";
}

export interface Mailer {
  readonly kind: "resend" | "outbox" | "memory";
  send(email: OutgoingEmail, options?: SendOptions): Promise<SendResult>;
  /** Up to `MAX_BATCH` emails in one call; all or nothing unless `batchValidation: "permissive"`. */
  sendBatch(emails: OutgoingEmail[], options?: SendOptions): Promise<BatchResult>;
}

/** Resend's batch endpoint takes at most 100 emails a call. */
export const MAX_BATCH = 100;
