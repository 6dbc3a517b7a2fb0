import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";

/**
 * The one error type handlers throw. `app.onError` turns it into the JSON envelope
 * `{ error: { code, message, requestId } }` or a friendly HTML page, depending on the client.
 */
export class AppError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(status, { message });
    this.name = "AppError";
  }
}

export const notFound = (message = "We couldn't find that page.") => new AppError(404, "not_found", message);
export const badRequest = (message: string, code = "bad_request") => new AppError(400, code, message);
