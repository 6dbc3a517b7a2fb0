import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createSession } from "../../src/admin/sessions";
import { pauseUntilResumed } from "../../src/db/controls";
import { adminActions, webhookEndpoints } from "../../src/db/schema";
import { createLogger } from "../../src/lib/logger";
import { runWebhookDeliveries } from "../../src/outbound/deliver";
import { createEndpoint } from "../../src/outbound/store";
import { startReceiver } from "../api/receiver";
import { consoleEnv, csrfFor, get, post, signIn } from "../support/console";
import { createSubscriber } from "../support/factories";
import { createTestContext, form, type TestContext } from "../support/test-app";

const HOUR = 3600_000;
let t: TestContext;
let cookie: string;
let logs: string[];
let receiver: Awaited<ReturnType<typeof startReceiver>>;
beforeEach(async () => {
  t = await createTestContext({ env: consoleEnv });
  logs = [];
  t.deps.logger = createLogger((line) => logs.push(line));
  receiver = await startReceiver();
  ({ cookie } = await signIn(t));
});
afterEach(async () => {
  await receiver.close();
  await t.close();
});

const csrf = () => csrfFor(t, cookie, "/admin/webhooks");

/** The register form as a browser sends it: one `eventTypes` field per ticked box. */
async function register(url: string, eventTypes: string[] = ["*"], token?: string, session = cookie): Promise<Response> {
  const body = new URLSearchParams({ csrf: token ?? (await csrf()), url });
  for (const type of eventTypes) body.append("eventTypes", type);
  return t.app.request("/admin/webhooks", { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded", cookie: session } });
}

async function registered(url = receiver.url, eventTypes?: string[]) {
  const res = await register(url, eventTypes);
  expect(res.status).toBe(200);
  const page = await res.text();
  const secret = page.match(/id="new-secret">(whsec_[A-Za-z0-9+/=]+)</)?.[1];
  const endpoint = (await t.db.query.webhookEndpoints.findFirst({ where: eq(webhookEndpoints.url, new URL(url).toString()) }))!;
  return { page, secret: secret!, endpoint, res };
}

describe("webhooks in the console", () => {
  it("registers an endpoint with chosen events, shows its whsec_ secret once, and lists it without the secret", async () => {
    const { page, secret, endpoint, res } = await registered(receiver.url, ["subscriber.confirmed", "enrollment.completed"]);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(secret).toBe(endpoint.secret);
    expect(page).toContain("it won&#39;t be shown again");
    expect(JSON.parse(endpoint.eventTypes)).toEqual(["subscriber.confirmed", "enrollment.completed"]);
    const list = await (await get(t, "/admin/webhooks", cookie)).text();
    expect(list).toContain(receiver.url);
    expect(list).toContain("subscriber.confirmed, enrollment.completed");
    expect(list).not.toContain(secret);
    expect(await (await get(t, `/admin/webhooks/${endpoint.id}`, cookie)).text()).not.toContain(secret);
    expect(await t.db.$count(adminActions, eq(adminActions.action, "webhook.create"))).toBe(1);
    expect(logs.join("\n")).not.toContain(secret);
  });

  it("All events wins over single ticks", async () => {
    const { endpoint } = await registered(receiver.url, ["*", "lesson.sent"]);
    expect(JSON.parse(endpoint.eventTypes)).toEqual(["*"]);
  });

  it("Send test event delivers a delivery the receiver verifies with the endpoint's secret, and shows the answer", async () => {
    const { secret, endpoint } = await registered();
    receiver.useSecret(secret);
    const res = await post(t, `/admin/webhooks/${endpoint.id}/test`, cookie, { csrf: await csrf() });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Test event delivered: HTTP 200");
    expect(receiver.refused).toEqual([]);
    expect(receiver.accepted.map((r) => r.event.type)).toEqual(["webhook.test"]);
    expect(await t.db.$count(adminActions, eq(adminActions.action, "webhook.test"))).toBe(1);
  });

  it("answers a URL the rules refuse with a 400 form that says why, registering nothing", async () => {
    const cases: [string, string][] = [
      ["", "Enter the URL"],
      ["not a url", "The URL is not valid."],
      ["ftp://example.com/hook", "The URL must use https."],
      ["https://user:pw@example.com/hook", "must not carry a user name"],
    ];
    for (const [url, why] of cases) {
      const res = await register(url);
      expect(res.status, url).toBe(400);
      expect(await res.text(), url).toContain(why);
    }
    const none = await register("https://hooks.example.com/x", []);
    expect([none.status, (await none.text()).includes("Choose at least one event")]).toEqual([400, true]);
    const unknown = await register("https://hooks.example.com/x", ["evil.type"]);
    expect(unknown.status).toBe(400);
    expect(await t.db.$count(webhookEndpoints)).toBe(0);
  });

  it("refuses loopback and private addresses in production with a helpful message", async () => {
    await t.close();
    t = await createTestContext({ env: { ...consoleEnv, NODE_ENV: "production", DATABASE_URL: "file:unused.db" } });
    ({ cookie } = await signIn(t));
    for (const url of [receiver.url, "https://127.0.0.1/hook", "https://10.0.0.5/hook", "https://169.254.169.254/latest", "http://hooks.example.com/x"]) {
      const res = await register(url);
      expect(res.status, url).toBe(400);
      expect(await res.text(), url).toContain("Use an https URL of a public host.");
    }
    expect(await t.db.$count(webhookEndpoints)).toBe(0);
  });

  it("flags an endpoint the delivery pass disabled after a day of failures, with reason and time; re-enable turns it back on", async () => {
    const { secret, endpoint } = await registered();
    receiver.useSecret(secret);
    receiver.down(500);
    const ana = await createSubscriber(t.db, t.clock.now());
    await pauseUntilResumed(t.db, ana.id, { now: t.clock.now(), sendHour: t.config.sendHour });
    for (let i = 0; i < 30; i++) {
      await runWebhookDeliveries(t.deps);
      t.clock.advance(HOUR);
    }
    ({ cookie } = await signIn(t)); // a day and more passed: the first session has ended
    const list = await (await get(t, "/admin/webhooks", cookie)).text();
    expect(list).toContain("1 endpoint was disabled after failing for a day");
    expect(list).toMatch(/Disabled \d{4}-\d\d-\d\d \d\d:\d\d UTC: [^<]*24 hours/);
    const detail = await (await get(t, `/admin/webhooks/${endpoint.id}`, cookie)).text();
    expect(detail).toContain("receiver is down");
    expect(detail).toContain("Re-enable this endpoint");
    receiver.up();
    const res = await post(t, `/admin/webhooks/${endpoint.id}/enable`, cookie, { csrf: await csrf() });
    expect(res.headers.get("location")).toBe(`/admin/webhooks/${endpoint.id}?done=enabled`);
    expect((await t.db.query.webhookEndpoints.findFirst())?.disabledAt).toBeNull();
    expect(await (await get(t, "/admin/webhooks", cookie)).text()).not.toContain("disabled after failing");
  });

  it("shows a receiver's answer in the attempts escaped", async () => {
    const hostile = createServer((_req, res) => res.writeHead(500, { "content-type": "text/html" }).end("<img src=x onerror=alert(1)>"));
    await new Promise<void>((resolve) => hostile.listen(0, "127.0.0.1", resolve));
    try {
      const { endpoint } = await registered(`http://127.0.0.1:${(hostile.address() as AddressInfo).port}/h`);
      const ana = await createSubscriber(t.db, t.clock.now());
      await pauseUntilResumed(t.db, ana.id, { now: t.clock.now(), sendHour: t.config.sendHour });
      await runWebhookDeliveries(t.deps);
      const detail = await (await get(t, `/admin/webhooks/${endpoint.id}`, cookie)).text();
      expect(detail).toContain("&lt;img src=x onerror=alert(1)&gt;");
      expect(detail).not.toContain("<img src=x");
      expect(detail).toMatch(/<td>500<\/td>/);
    } finally {
      await new Promise<void>((resolve) => hostile.close(() => resolve()));
    }
  });

  it("deletes an endpoint; an unknown endpoint is a 404 page", async () => {
    const { endpoint } = await registered();
    const res = await post(t, `/admin/webhooks/${endpoint.id}/delete`, cookie, { csrf: await csrf() });
    expect(res.headers.get("location")).toBe("/admin/webhooks?done=deleted");
    expect(await t.db.$count(webhookEndpoints)).toBe(0);
    expect((await get(t, `/admin/webhooks/${endpoint.id}`, cookie)).status).toBe(404);
    expect((await post(t, `/admin/webhooks/${endpoint.id}/test`, cookie, { csrf: await csrf() })).status).toBe(404);
    expect(await t.db.$count(adminActions, eq(adminActions.action, "webhook.delete"))).toBe(1);
  });

  it("refuses every webhook action without the CSRF token, without a session, and for a non-operator", async () => {
    const endpoint = await createEndpoint(t.db, { url: receiver.url, eventTypes: ["*"] }, t.clock.now());
    const stranger = `console_session=${(await createSession(t.db, "stranger@example.com", t.clock.now())).id}`;
    const actions = [`/admin/webhooks/${endpoint.id}/test`, `/admin/webhooks/${endpoint.id}/enable`, `/admin/webhooks/${endpoint.id}/delete`];
    expect((await register("https://hooks.example.com/x", ["*"], "")).status).toBe(403);
    for (const path of actions) expect((await post(t, path, cookie, {})).status, path).toBe(403);
    for (const bad of ["", stranger]) {
      expect((await register("https://hooks.example.com/x", ["*"], "x", bad)).status).toBe(401);
      for (const path of actions) expect((await post(t, path, bad, { csrf: "x" })).status, path).toBe(401);
      for (const path of ["/admin/webhooks", `/admin/webhooks/${endpoint.id}`]) expect((await get(t, path, bad)).headers.get("location")).toBe("/admin/login");
    }
    expect(receiver.requests).toBe(0);
    expect(await t.db.$count(webhookEndpoints)).toBe(1);
  });
});
