import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { revokeApiKey } from "../../src/api/keys";
import { createSubscriber } from "../support/factories";
import { createTestContext, type TestContext } from "../support/test-app";
import { apiCall, apiKey } from "./support";

/**
 * Every operation in the OpenAPI document, enumerated from the document itself, so a route added
 * later is covered too: no key and a revoked key are 401, a read key on a write route is 403, and
 * hostile bodies, parameters and cursors get a 4xx, never a 5xx.
 */
let t: TestContext;
let operations: { method: string; path: string }[];
let subscriberId: string;

beforeAll(async () => {
  t = await createTestContext();
  const doc = await (await t.app.request("/api/v1/openapi.json")).json();
  operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => ({ method: method.toUpperCase(), path })),
  );
  subscriberId = (await createSubscriber(t.db, t.clock.now())).id;
});
afterAll(async () => t.close());

const concrete = (path: string, id = subscriberId) => path.replace("{id}", id).replace("{course}", "clear-skin");

describe("every API operation", () => {
  it("is listed (sanity)", () => {
    expect(operations.length).toBeGreaterThanOrEqual(20);
  });

  it("answers 401 without a key and with a revoked key", async () => {
    const { key, row } = await apiKey(t, "write");
    await revokeApiKey(t.db, row.id, t.clock.now());
    for (const { method, path } of operations) {
      expect((await apiCall(t, undefined, method, concrete(path))).status, `${method} ${path}`).toBe(401);
      expect((await apiCall(t, key, method, concrete(path))).status, `${method} ${path}`).toBe(401);
    }
  });

  it("answers 403 to a read key on every write operation, and changes nothing", async () => {
    const { key } = await apiKey(t, "read");
    for (const { method, path } of operations.filter((o) => o.method !== "GET")) {
      expect((await apiCall(t, key, method, concrete(path), { email: "x@example.com", url: "http://127.0.0.1:1/", eventTypes: ["*"] })).status, `${method} ${path}`).toBe(403);
    }
    expect(t.resend.emails).toHaveLength(0);
  });

  it("answers hostile ids, bodies and cursors with a 4xx, never a 5xx", async () => {
    const { key } = await apiKey(t, "write");
    const hostileIds = ["'; drop table subscribers; --", "%00", "x".repeat(500), "..%2F..%2Fetc%2Fpasswd"];
    const hostileBodies: unknown[] = ["{", "[]", "null", '"text"', { email: { $gt: "" } }, { url: ["https://a.example"], eventTypes: "*" }, { email: "a@example.com", firstName: "\u0000" }];
    for (const { method, path } of operations) {
      for (const id of hostileIds) {
        const res = await apiCall(t, key, method, concrete(path, encodeURIComponent(id)) + "?cursor=%%%&limit=-1&state=<script>");
        expect(res.status, `${method} ${path} ${id}`).toBeLessThan(500);
        if (path.includes("{id}")) expect(res.status, `${method} ${path} ${id}`).toBeGreaterThanOrEqual(400);
      }
      if (method === "GET" || method === "DELETE") continue;
      for (const body of hostileBodies) {
        const res = await apiCall(t, key, method, concrete(path), body);
        expect(res.status, `${method} ${path} ${JSON.stringify(body)}`).toBeLessThan(500);
      }
    }
  });
});
