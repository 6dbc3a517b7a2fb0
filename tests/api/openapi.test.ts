import { validate } from "@readme/openapi-parser";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, type TestContext } from "../support/test-app";

let t: TestContext;
beforeAll(async () => {
  t = await createTestContext();
});
afterAll(async () => t.close());

describe("the OpenAPI document", () => {
  it("is a valid OpenAPI 3.1 document by a real validator", async () => {
    const doc = await (await t.app.request("/api/v1/openapi.json")).json();
    expect(doc.openapi).toBe("3.1.0");
    const result = await validate(structuredClone(doc));
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it("the validator does catch a broken document (so the test above means something)", async () => {
    const doc = await (await t.app.request("/api/v1/openapi.json")).json();
    doc.paths["/api/v1/courses"].get.responses = "nothing";
    expect((await validate(doc)).valid).toBe(false);
  });

  it("lists every operation with bearer security and the error envelope", async () => {
    const doc = await (await t.app.request("/api/v1/openapi.json")).json();
    const operations = Object.entries(doc.paths as Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>).flatMap(
      ([path, methods]) => Object.entries(methods).map(([method, op]) => ({ id: `${method.toUpperCase()} ${path}`, op })),
    );
    expect(operations.map((o) => o.id)).toEqual(
      expect.arrayContaining([
        "GET /api/v1/courses",
        "GET /api/v1/subscribers",
        "GET /api/v1/subscribers/{id}",
        "POST /api/v1/courses/{course}/enrollments",
        "POST /api/v1/subscribers/{id}/courses/{course}/pause",
        "POST /api/v1/subscribers/{id}/courses/{course}/resume",
        "DELETE /api/v1/subscribers/{id}/courses/{course}",
        "POST /api/v1/subscribers/{id}/unsubscribe",
        "DELETE /api/v1/subscribers/{id}",
        "GET /api/v1/subscribers/{id}/deliveries",
        "GET /api/v1/subscribers/{id}/events",
        "GET /api/v1/events",
        "GET /api/v1/stats",
        "POST /api/v1/deliveries/retry-failed",
      ]),
    );
    for (const { id, op } of operations) {
      expect(op.security, id).toEqual([{ bearer: [] }]);
      expect(Object.keys(op.responses), id).toEqual(expect.arrayContaining(["401", "403", "429"]));
    }
  });
});
