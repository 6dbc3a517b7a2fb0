import { createApiKey } from "../../src/api/keys";
import type { ApiKeyScope } from "../../src/db/schema";
import type { TestContext } from "../support/test-app";

/** Keys made the way the CLI makes them, and requests that carry them. */
export async function apiKey(t: TestContext, scope: ApiKeyScope = "write", name = `${scope} key`) {
  const { key, row } = await createApiKey(t.db, name, scope, t.clock.now());
  return { key, row, headers: { authorization: `Bearer ${key}` } };
}

export function apiCall(t: TestContext, key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  return t.app.request(path, {
    method,
    headers: {
      accept: "application/json",
      ...(key && { authorization: `Bearer ${key}` }),
      ...(body !== undefined && { "content-type": "application/json" }),
      ...headers,
    },
    ...(body !== undefined && { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
}
