import { eq, isNotNull } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AppDeps } from "../../src/app-env";
import { deliveries, enrollments } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { createSubscribers } from "../support/factories";
import { createTestContext, type TestContext } from "../support/test-app";

/**
 * Shutdown (SIGTERM during a deploy): an aborted pass stops claiming, records the batch already
 * with the provider, and gives back what it claimed but did not send, so nobody waits out a lease.
 */

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ timeoutMs: 10_000 });
});
afterEach(async () => t.close());

/** The real mailer, but the shutdown signal fires the moment the first batch goes to the provider. */
function abortOnFirstSend(deps: AppDeps, controller: AbortController): AppDeps {
  const mailer = deps.mailer;
  return {
    ...deps,
    mailer: {
      kind: mailer.kind,
      send: (email, options) => mailer.send(email, options),
      sendBatch: (emails, options) => {
        controller.abort();
        return mailer.sendBatch(emails, options);
      },
    },
  };
}

const leased = () => t.db.$count(enrollments, isNotNull(enrollments.leaseId));

describe("a pass aborted for shutdown", () => {
  it("records the batch the slow provider already has, releases the rest, and nothing goes out twice", async () => {
    const people = await createSubscribers(t.db, 250, t.clock.now());
    // The provider takes its time with the first batch, so the pass prepares the next one meanwhile.
    t.resend.slowNext(300);
    const controller = new AbortController();

    const report = await runDispatch(abortOnFirstSend(t.deps, controller), { signal: controller.signal });

    expect(report.stoppedBy).toBe("aborted");
    expect(report.sent).toBe(100);
    expect(t.resend.emails).toHaveLength(100);
    expect(await leased()).toBe(0);
    expect(await t.db.$count(deliveries, eq(deliveries.status, "sent"))).toBe(100);
    expect(await t.db.$count(enrollments, eq(enrollments.nextLesson, 1))).toBe(150);

    // The next process picks up the rest at once: no lease to wait out, nobody mailed twice.
    const next = await runDispatch(t.deps);
    expect(next.sent).toBe(150);
    expect(await leased()).toBe(0);
    const recipients = t.resend.emails.map((email) => email.to[0]);
    expect(recipients).toHaveLength(250);
    expect(new Set(recipients)).toEqual(new Set(people.map((p) => p.email)));
  });

  it("a pass whose signal is already aborted claims nothing", async () => {
    await createSubscribers(t.db, 5, t.clock.now());
    const report = await runDispatch(t.deps, { signal: AbortSignal.abort() });
    expect(report).toMatchObject({ stoppedBy: "aborted", claimed: 0, sent: 0 });
    expect(await leased()).toBe(0);
  });
});
