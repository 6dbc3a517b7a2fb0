import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AppError } from "../lib/errors";

/**
 * The API's closed set of error codes and their HTTP statuses (after unkey's
 * `apps/api/src/pkg/errors/http.ts`). Every API error answers `{ error: { code, message, requestId } }`
 * through `app.onError` (src/app.tsx).
 */
export const API_ERROR_STATUS = {
  bad_request: 400,
  invalid_cursor: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  idempotency_conflict: 409,
  refused: 422,
  rate_limited: 429,
  mail_unavailable: 503,
  internal_error: 500,
} as const satisfies Record<string, ContentfulStatusCode>;

export type ApiErrorCode = keyof typeof API_ERROR_STATUS;
export const API_ERROR_CODES = Object.keys(API_ERROR_STATUS) as [ApiErrorCode, ...ApiErrorCode[]];

export function apiError(code: ApiErrorCode, message: string, headers: Record<string, string> = {}): AppError {
  return new AppError(API_ERROR_STATUS[code], code, message, headers);
}
