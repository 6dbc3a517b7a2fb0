import { describe, expect, it } from "vitest";
import { allCourses } from "../src/course/registry";
import { cronPass } from "../src/cron-pass";
import { warmUp } from "../src/warm-up";
import { withStandIns } from "../src/warm-up-stand-ins";

/**
 * src/warm-up.ts, the Worker's global-scope warm-up, in Node: the same code paths run here as in
 * workerd (tests/worker/worker.test.ts checks that workerd lets every step run).
 */

/** Every global the stand-ins replace, as it is now. */
const globalsNow = () => ({
  fetch: globalThis.fetch,
  Request: globalThis.Request,
  Response: globalThis.Response,
  setTimeout: globalThis.setTimeout,
  timeout: AbortSignal.timeout,
  randomUUID: crypto.randomUUID,
  getRandomValues: crypto.getRandomValues,
});

describe("the Worker's warm-up", () => {
  it("serves the landing page, signs someone up and runs a cron pass that sends a lesson of every course, all in memory", async () => {
    const report = await warmUp(cronPass);
    expect(report.failed).toEqual([]);
    // The confirmation, then one lesson per course.
    expect(report.emailsSent).toBe(1 + allCourses().length);
  });

  it("makes no request that leaves the process", async () => {
    const before = globalsNow();
    const requests: string[] = [];
    globalThis.fetch = async (input) => {
      requests.push(String(input));
      throw new Error("no network in the warm-up");
    };
    try {
      expect((await warmUp(cronPass)).failed).toEqual([]);
    } finally {
      globalThis.fetch = before.fetch;
    }
    expect(requests).toEqual([]);
  });

  it("puts back every global it stood in for, also when a step throws", async () => {
    const before = globalsNow();
    await warmUp(cronPass);
    expect(globalsNow()).toEqual(before);
    await expect(
      withStandIns(async () => {
        expect(globalsNow().fetch).not.toBe(before.fetch);
        throw new Error("a failing step");
      }),
    ).rejects.toThrow("a failing step");
    expect(globalsNow()).toEqual(before);
    // Random values are random again.
    expect(crypto.randomUUID()).not.toBe(crypto.randomUUID());
  });

  it("reports a step that throws instead of failing the Worker's start", async () => {
    const report = await warmUp(async () => {
      throw new Error("refused in global scope");
    });
    expect(report.failed).toEqual(["cron pass (refused in global scope)"]);
  });
});
