import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { revokeApiKey } from "../../src/api/keys";
import { apiKeys } from "../../src/db/schema";
import { createTestContext, type TestContext } from "../support/test-app";
import { apiCall, apiKey } from "./support";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ env: { API_RATE_LIMIT: "3", API_RATE_LIMIT_WINDOW_SECONDS: "60" } });
});
afterEach(async () => t.close());

const envelope = { error: { code: expect.any(String), message: expect.any(String), requestId: expect.any(String) } };

describe("API keys", () => {
  it("store only a SHA-256 hash and a short prefix, never the key", async () => {
    const { key, row } = await apiKey(t, "read");
    expect(key).toMatch(/^ck_[A-Za-z0-9_-]{43}$/);
    const stored = await t.db.query.apiKeys.findFirst({ where: eq(apiKeys.id, row.id) });
    expect(JSON.stringify(stored)).not.toContain(key.slice(11));
    expect(stored).toMatchObject({ prefix: key.slice(0, 11), hash: expect.stringMatching(/^[0-9a-f]{64}$/), scope: "read" });
  });

  it("a missing key gets 401 in the JSON envelope, naming how to send one", async () => {
    const res = await apiCall(t, undefined, "GET", "/api/v1/subscribers");
    expect(res.status).toBe(401);
    const body = await res.json();
    expect(body).toEqual(envelope);
    expect(body.error.message).toContain("Authorization: Bearer");
  });

  it("a wrong key, a malformed header and a revoked key get 401", async () => {
    const { key, row } = await apiKey(t, "read");
    expect((await apiCall(t, `${key}x`, "GET", "/api/v1/courses")).status).toBe(401);
    expect((await apiCall(t, "ck_nope", "GET", "/api/v1/courses")).status).toBe(401);
    const basic = await t.app.request("/api/v1/courses", { headers: { authorization: "Basic dXNlcjpwYXNz" } });
    expect(basic.status).toBe(401);
    expect((await apiCall(t, key, "GET", "/api/v1/courses")).status).toBe(200);
    await revokeApiKey(t.db, row.prefix, t.clock.now());
    const revoked = await apiCall(t, key, "GET", "/api/v1/courses");
    expect(revoked.status).toBe(401);
    expect((await revoked.json()).error.message).toContain("revoked");
  });

  it("a read key on a write route gets 403; a write key may read too", async () => {
    const read = await apiKey(t, "read");
    const write = await apiKey(t, "write");
    const res = await apiCall(t, read.key, "POST", "/api/v1/deliveries/retry-failed");
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ error: { code: "forbidden" } });
    expect((await apiCall(t, write.key, "GET", "/api/v1/stats")).status).toBe(200);
  });

  it("limits requests per key with 429 and Retry-After; another key is unaffected", async () => {
    const first = await apiKey(t, "read");
    const second = await apiKey(t, "read");
    for (let i = 0; i < 3; i++) expect((await apiCall(t, first.key, "GET", "/api/v1/stats")).status).toBe(200);
    const limited = await apiCall(t, first.key, "GET", "/api/v1/stats");
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("60");
    expect(await limited.json()).toMatchObject({ error: { code: "rate_limited" } });
    expect((await apiCall(t, second.key, "GET", "/api/v1/stats")).status).toBe(200);
    t.clock.advance(60_000);
    expect((await apiCall(t, first.key, "GET", "/api/v1/stats")).status).toBe(200);
  });

  it("records when a key was last used", async () => {
    const { key, row } = await apiKey(t, "read");
    t.clock.advance(5_000);
    await apiCall(t, key, "GET", "/api/v1/courses");
    expect((await t.db.query.apiKeys.findFirst({ where: eq(apiKeys.id, row.id) }))?.lastUsedAt).toBe(t.clock.now());
  });

  it("the OpenAPI document and the reference page need no key", async () => {
    expect((await t.app.request("/api/v1/openapi.json")).status).toBe(200);
    const page = await t.app.request("/api/v1/reference");
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain("POST /api/v1/courses/{course}/enrollments");
    expect(html).not.toContain("<script");
  });

  it("an unknown API path answers 404 in the JSON envelope", async () => {
    const { key } = await apiKey(t, "read");
    const res = await apiCall(t, key, "GET", "/api/v1/nope");
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(envelope);
  });
});
