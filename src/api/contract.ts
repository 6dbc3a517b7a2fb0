import type { z } from "@hono/zod-openapi";
import { API_ERROR_STATUS, type ApiErrorCode } from "./errors";
import { ErrorSchema } from "./schemas";

/** Shared pieces of route declarations. */

/** The error answers of a route: always 401, 403 and 429 (every route needs a key), plus `codes`. */
export const errors = (...codes: ApiErrorCode[]) =>
  Object.fromEntries(
    [...new Set<ApiErrorCode>(["unauthorized", "forbidden", "rate_limited", ...codes])].map((code) => [
      String(API_ERROR_STATUS[code]),
      { description: code.replace(/_/g, " "), content: { "application/json": { schema: ErrorSchema } } },
    ]),
  );

export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

export const security = [{ bearer: [] }];
