import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../app-env";
import { hitRateLimit } from "../lib/rate-limit";
import { apiError } from "./errors";
import { findApiKey, touchApiKey, type ApiKey } from "./keys";

export type ApiEnv = { Variables: AppEnv["Variables"] & { apiKey: ApiKey } };

const BEARER = /^Bearer ([A-Za-z0-9_-]{1,200})$/;
const HOW = "Send an API key as `Authorization: Bearer <key>` (create one with `npm run admin:key -- create <name>`).";

/**
 * Authenticates every API request with a bearer key, checks its scope (GET and HEAD need `read`;
 * anything else `write`, which includes read) and counts it against the key's rate limit
 * (`config.apiRateLimit` per window; 429 with `Retry-After`). The key is never logged: only its id.
 */
export const requireApiKey: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const { db, clock, config, logger } = c.get("deps");
  const header = c.req.header("authorization");
  if (!header) throw apiError("unauthorized", `Missing API key. ${HOW}`);
  const match = BEARER.exec(header);
  const key = match ? await findApiKey(db, match[1]!) : undefined;
  if (!key) throw apiError("unauthorized", `That API key is not valid. ${HOW}`);
  if (key.revokedAt !== null) throw apiError("unauthorized", "That API key has been revoked.");
  const method = c.req.method;
  if (method !== "GET" && method !== "HEAD" && key.scope !== "write") {
    throw apiError("forbidden", "This API key may only read. Use a key created with `--scope write`.");
  }
  const now = clock();
  const limit = await hitRateLimit(db, `api:${key.id}`, config.apiRateLimit, now);
  if (!limit.allowed) {
    logger.warn("api_rate_limited", { apiKeyId: key.id });
    throw apiError("rate_limited", `Too many requests for this key. Try again in ${limit.retryAfterSeconds} seconds.`, {
      "Retry-After": String(limit.retryAfterSeconds),
    });
  }
  await touchApiKey(db, key, now);
  c.set("apiKey", key);
  await next();
};
