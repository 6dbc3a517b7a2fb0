import { expect, it } from "vitest";
import { cronPass } from "../src/cron-pass";
import { warmUp } from "../src/warm-up";
import { withStandIns } from "../src/warm-up-stand-ins";

/**
 * Kept in its own file: it makes `crypto` non-extensible, which cannot be undone, and vitest runs
 * each file in a fresh module environment of its own.
 */
it("a warm-up whose stand-in the runtime refuses leaves every global as it found it", async () => {
  const before = { fetch: globalThis.fetch, Request: globalThis.Request, Response: globalThis.Response, setTimeout: globalThis.setTimeout, timeout: AbortSignal.timeout };
  // A runtime that will not let `crypto.randomUUID` be replaced (its method is inherited, so an
  // own property cannot be added to a non-extensible object).
  Object.preventExtensions(crypto);
  await expect(withStandIns(async () => "ran")).rejects.toThrow(TypeError);
  expect({ fetch: globalThis.fetch, Request: globalThis.Request, Response: globalThis.Response, setTimeout: globalThis.setTimeout, timeout: AbortSignal.timeout }).toEqual(before);
});

it("a warm-up that cannot start reports why instead of failing the Worker's start", async () => {
  Object.preventExtensions(crypto);
  const report = await warmUp(cronPass);
  expect(report.emailsSent).toBe(0);
  expect(report.failed).toEqual([expect.stringMatching(/^warm-up \(.+\)$/)]);
});
