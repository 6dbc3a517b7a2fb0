import { eq } from "drizzle-orm";
import { Webhook } from "standardwebhooks";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { webhookDeliveries, webhookEndpoints } from "../../src/db/schema";
import { attempt, runWebhookDeliveries } from "../../src/outbound/deliver";
import { checkEndpointUrl } from "../../src/outbound/url";
import { createSubscriber } from "../support/factories";
import { createTestContext, testConfig, type TestContext } from "../support/test-app";
import { TEST_WEBHOOK_SECRET } from "../support/webhooks";
import { JOURNEY_EVENTS, walkJourney } from "./journey";
import { startReceiver } from "./receiver";
import { apiCall, apiKey } from "./support";

let t: TestContext;
let receiver: Awaited<ReturnType<typeof startReceiver>>;
let write: string;
const HOUR = 3600_000;

beforeEach(async () => {
  t = await createTestContext({ env: { RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
  receiver = await startReceiver();
  write = (await apiKey(t, "write")).key;
});
afterEach(async () => {
  await receiver.close();
  await t.close();
});

async function register(eventTypes: string[] = ["*"]) {
  const res = await apiCall(t, write, "POST", "/api/v1/webhook-endpoints", { url: receiver.url, eventTypes });
  expect(res.status).toBe(201);
  const endpoint = (await res.json()) as { id: string; secret: string };
  expect(endpoint.secret).toMatch(/^whsec_/);
  receiver.useSecret(endpoint.secret);
  return endpoint;
}

const pass = () => runWebhookDeliveries(t.deps);

describe("outbound webhooks", () => {
  it("a registered endpoint receives every event of a whole journey, signed, once and in order", async () => {
    await register();
    const id = await walkJourney(t, write, "hooked@example.com", async () => {
      await pass();
    });
    await pass();
    const mine = receiver.accepted.filter((r) => r.event.data.subscriberId === id);
    expect(mine.map((r) => r.event.type)).toEqual(JOURNEY_EVENTS);
    expect(new Set(receiver.accepted.map((r) => r.id)).size).toBe(receiver.accepted.length);
    expect(receiver.refused).toEqual([]);
    expect(receiver.accepted.map((r) => r.body).join("")).not.toContain("hooked@");
  });

  it("only the event types asked for are sent", async () => {
    await register(["subscriber.confirmed", "enrollment.completed"]);
    await walkJourney(t, write, "picky@example.com", async () => {
      await pass();
    });
    await pass();
    expect(receiver.accepted.map((r) => r.event.type)).toEqual(["subscriber.confirmed", "enrollment.completed"]);
  });

  it("survives the receiver's downtime: retries with backoff deliver everything later, in order, once", async () => {
    const endpoint = await register();
    receiver.down(503);
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/resume`);
    await pass();
    t.clock.advance(30_000);
    await pass(); // not due yet: the first retry waits a minute
    expect(receiver.requests).toBe(1);
    for (let hour = 0; hour < 3; hour++) {
      t.clock.advance(HOUR);
      await pass();
    }
    expect(receiver.accepted).toHaveLength(0);
    receiver.up();
    t.clock.advance(4 * HOUR);
    await pass();
    expect(receiver.accepted.map((r) => r.event.type)).toEqual(["enrollment.paused", "enrollment.resumed"]);
    const attempts = await (await apiCall(t, write, "GET", `/api/v1/webhook-endpoints/${endpoint.id}/attempts`)).json();
    expect(attempts.data.some((a: { responseStatus: number; excerpt: string }) => a.responseStatus === 503 && a.excerpt === "receiver is down")).toBe(true);
    expect(attempts.data[0]).toMatchObject({ responseStatus: 200, durationMs: expect.any(Number) });
  });

  it("an endpoint failing for a day is disabled and flagged; its late deliveries are failed, and it can be re-enabled", async () => {
    const endpoint = await register();
    receiver.down(500);
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    for (let i = 0; i < 30; i++) {
      await pass();
      t.clock.advance(HOUR);
    }
    const flagged = await (await apiCall(t, write, "GET", `/api/v1/webhook-endpoints/${endpoint.id}`)).json();
    expect(flagged).toMatchObject({ disabled: true, disabledReason: expect.stringContaining("24 hours"), failingSince: expect.any(String) });
    const [delivery] = await t.db.select().from(webhookDeliveries);
    expect(delivery?.status).toBe("failed");
    const requestsWhenDisabled = receiver.requests;
    await pass();
    expect(receiver.requests).toBe(requestsWhenDisabled);
    receiver.up();
    expect(await (await apiCall(t, write, "POST", `/api/v1/webhook-endpoints/${endpoint.id}/enable`)).json()).toMatchObject({ disabled: false });
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/resume`);
    await pass();
    expect(receiver.accepted.map((r) => r.event.type)).toEqual(["enrollment.resumed"]);
  });

  it("a 4xx answer fails the delivery at once, without retries", async () => {
    await register();
    receiver.down(410);
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    await pass();
    t.clock.advance(2 * HOUR);
    await pass();
    expect(receiver.requests).toBe(1);
    expect((await t.db.select().from(webhookDeliveries))[0]?.status).toBe("failed");
  });

  it("two passes at once send each event once (endpoint lease)", async () => {
    await register();
    const subscriber = await createSubscriber(t.db, t.clock.now());
    for (let i = 0; i < 5; i++) {
      await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
      await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/resume`);
    }
    await Promise.all([pass(), pass(), pass()]);
    await pass();
    expect(receiver.accepted).toHaveLength(10);
    expect(new Set(receiver.accepted.map((r) => r.id)).size).toBe(10);
  });

  it("a pass stays within a subrequest budget and leaves the rest for the next, still in order", async () => {
    await register();
    const subscriber = await createSubscriber(t.db, t.clock.now());
    for (let i = 0; i < 3; i++) {
      await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
      await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/resume`);
    }
    expect((await runWebhookDeliveries(t.deps, { maxSubrequests: 7 })).calls).toBe(0);
    const first = await runWebhookDeliveries(t.deps, { maxSubrequests: 15 });
    expect(first.calls).toBeLessThanOrEqual(15);
    expect(first.succeeded).toBe(2);
    await pass();
    expect(receiver.accepted.map((r) => r.event.type)).toEqual(Array.from({ length: 3 }, () => ["enrollment.paused", "enrollment.resumed"]).flat());
  });

  it("a forged or replayed delivery is detectable by the receiver", async () => {
    const endpoint = await register();
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    await pass();
    const [real] = receiver.accepted;
    const wh = new Webhook(endpoint.secret);
    expect(() => wh.verify(real!.body, real!.headers)).not.toThrow();
    // Forged: another body under the real signature, or a signature made with another secret.
    expect(() => wh.verify(real!.body.replace("enrollment.paused", "enrollment.resumed"), real!.headers)).toThrow();
    const other = new Webhook(`whsec_${btoa("someone-else's-secret-0123")}`);
    const forged = other.sign(real!.id, new Date(), real!.body);
    expect(() => wh.verify(real!.body, { ...real!.headers, "webhook-signature": forged })).toThrow();
    // Replayed later: a fresh timestamp breaks the signature, an old one is outside the tolerance,
    // and the unchanged message carries the same webhook-id, so a receiver that keeps ids drops it.
    expect(() => wh.verify(real!.body, { ...real!.headers, "webhook-timestamp": String(Math.floor(Date.now() / 1000) + 60) })).toThrow();
    const stale = await attempt(t.deps, { url: receiver.url, secret: endpoint.secret }, { id: real!.id, body: real!.body }, { wallClock: () => Date.now() - 10 * 60_000 });
    expect(stale.status).toBe(400);
    expect(receiver.refused.at(-1)?.reason).toMatch(/timestamp/i);
  });

  it("send test event: signed, verified by the receiver, answered with its status", async () => {
    const endpoint = await register();
    const res = await apiCall(t, write, "POST", `/api/v1/webhook-endpoints/${endpoint.id}/test`);
    expect(await res.json()).toMatchObject({ ok: true, responseStatus: 200 });
    expect(receiver.accepted[0]?.event.type).toBe("webhook.test");
  });
});

describe("webhook endpoints through the API", () => {
  it("list and get never show the secret; delete removes; unknown ids are 404", async () => {
    const endpoint = await register();
    const list = await (await apiCall(t, write, "GET", "/api/v1/webhook-endpoints")).text();
    expect(list).toContain(endpoint.id);
    expect(list).not.toContain(endpoint.secret);
    expect((await apiCall(t, write, "DELETE", `/api/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(204);
    expect((await apiCall(t, write, "GET", `/api/v1/webhook-endpoints/${endpoint.id}`)).status).toBe(404);
    expect((await apiCall(t, write, "POST", `/api/v1/webhook-endpoints/nope/test`)).status).toBe(404);
  });

  it("a read key cannot register; no key is 401; hostile input is a 400", async () => {
    const read = await apiKey(t, "read");
    expect((await apiCall(t, read.key, "POST", "/api/v1/webhook-endpoints", { url: receiver.url, eventTypes: ["*"] })).status).toBe(403);
    expect((await apiCall(t, undefined, "GET", "/api/v1/webhook-endpoints")).status).toBe(401);
    for (const body of [{}, { url: receiver.url, eventTypes: [] }, { url: receiver.url, eventTypes: ["lesson.exploded"] }, { url: "javascript:alert(1)", eventTypes: ["*"] }, { url: "not a url", eventTypes: ["*"] }]) {
      const res = await apiCall(t, write, "POST", "/api/v1/webhook-endpoints", body);
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
    expect(await t.db.$count(webhookEndpoints)).toBe(0);
  });

  it("in production only https URLs of public hosts are accepted (no SSRF)", async () => {
    const production = await createTestContext({ env: { NODE_ENV: "production", DATABASE_URL: "file:unused.db" } });
    const key = (await apiKey(production, "write")).key;
    const refused = ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://10.1.2.3/", "https://169.254.169.254/latest", "https://[::1]/", "https://[fd00::1]/", "https://[::ffff:192.168.0.1]/", "https://localhost/", "https://0x7f000001/", "https://intranet/", receiver.url];
    for (const url of refused) {
      const res = await apiCall(production, key, "POST", "/api/v1/webhook-endpoints", { url, eventTypes: ["*"] });
      expect(res.status, url).toBe(400);
    }
    expect((await apiCall(production, key, "POST", "/api/v1/webhook-endpoints", { url: "https://hooks.example.com/x", eventTypes: ["*"] })).status).toBe(201);
    await production.close();
  });
});

describe("checkEndpointUrl", () => {
  it("allows loopback http only outside production, and never private ranges", () => {
    expect(checkEndpointUrl("http://127.0.0.1:9/x", { production: false }).ok).toBe(true);
    expect(checkEndpointUrl("http://localhost:9/x", { production: false }).ok).toBe(true);
    expect(checkEndpointUrl("http://127.0.0.1:9/x", { production: true }).ok).toBe(false);
    expect(checkEndpointUrl("https://192.168.1.1/", { production: false }).ok).toBe(false);
    expect(checkEndpointUrl("https://100.64.0.1/", { production: true }).ok).toBe(false);
    expect(checkEndpointUrl("https://user:pw@hooks.example.com/", { production: true }).ok).toBe(false);
    expect(checkEndpointUrl("https://8.8.8.8/", { production: true }).ok).toBe(true);
    expect(checkEndpointUrl("https://[2001:db8::1]/", { production: true }).ok).toBe(true);
    expect(testConfig().production).toBe(false);
  });
});
