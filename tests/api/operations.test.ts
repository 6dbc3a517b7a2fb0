import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { unsubscribe } from "../../src/db/controls";
import { deliveries, enrollments } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { createSubscriber, createSubscribers } from "../support/factories";
import { apiCall, apiKey } from "./support";
import { createTestContext, type TestContext } from "../support/test-app";

let t: TestContext;
let auth: { headers: Record<string, string> };
beforeEach(async () => {
  t = await createTestContext();
  auth = { headers: (await apiKey(t, "write")).headers };
});
afterEach(async () => t.close());

describe("operations (the old admin endpoints, now in /api/v1)", () => {
  it("retry-failed needs a write key", async () => {
    const read = await apiKey(t, "read");
    expect((await apiCall(t, read.key, "POST", "/api/v1/deliveries/retry-failed")).status).toBe(403);
    expect((await apiCall(t, undefined, "POST", "/api/v1/deliveries/retry-failed")).status).toBe(401);
  });

  it("stats count subscribers, enrollments, deliveries and what is due, without personal data", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await createSubscribers(t.db, 2, t.clock.now());
    await runDispatch(t.deps, { batchSize: 2, budget: { maxEmails: 2 } });
    const res = await t.app.request("/api/v1/stats", auth);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toEqual({ subscribers: { active: 3 }, enrollments: { active: 3 }, deliveries: { sent: 2 }, dueNow: 1 });
    expect(JSON.stringify(body)).not.toContain(subscriber.email);
  });

  it("retry-failed gives failed enrollments a new set of attempts and they are then sent once", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    t.resend.failNext(503, { times: 2 });
    await runDispatch(t.deps, { maxAttempts: 1 });
    expect((await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriber.id) }))?.state).toBe("failed");

    const res = await t.app.request("/api/v1/deliveries/retry-failed", { method: "POST", ...auth });
    expect(await res.json()).toEqual({ retried: 1 });
    t.resend.reset();
    expect((await runDispatch(t.deps)).sent).toBe(1);
    expect(t.resend.emailsTo(subscriber.email)).toHaveLength(1);
  });

  it("retry-failed leaves an unsubscribed subscriber's failed delivery failed, and an older run's too", async () => {
    const staying = await createSubscriber(t.db, t.clock.now());
    const leaving = await createSubscriber(t.db, t.clock.now());
    t.resend.failNext(503, { times: 2 });
    await runDispatch(t.deps, { maxAttempts: 1 });
    expect(await t.db.$count(deliveries, eq(deliveries.status, "failed"))).toBe(2);
    await unsubscribe(t.db, leaving.id, t.clock.now(), t.config.appSecret);
    // A failed lesson from a run the subscriber has since left behind.
    await t.db.insert(deliveries).values({
      id: "old-run-delivery",
      subscriberId: staying.id,
      run: 0,
      lessonNumber: 1,
      status: "failed",
      attempts: 3,
      createdAt: t.clock.now(),
      updatedAt: t.clock.now(),
    });

    const res = await t.app.request("/api/v1/deliveries/retry-failed", { method: "POST", ...auth });
    expect(await res.json()).toEqual({ retried: 1 });
    const statuses = await t.db.select({ subscriberId: deliveries.subscriberId, run: deliveries.run, status: deliveries.status }).from(deliveries);
    expect(statuses).toContainEqual({ subscriberId: leaving.id, run: 1, status: "failed" });
    expect(statuses).toContainEqual({ subscriberId: staying.id, run: 0, status: "failed" });
    expect(statuses).toContainEqual({ subscriberId: staying.id, run: 1, status: "retrying" });

    t.resend.reset();
    expect((await runDispatch(t.deps)).sent).toBe(1);
    expect(t.resend.emailsTo(staying.email)).toHaveLength(1);
    expect(t.resend.emailsTo(leaving.email)).toHaveLength(0);
  });
});
