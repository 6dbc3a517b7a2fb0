import type { Client } from "@libsql/client";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { issueFormToken } from "../src/lib/signup-guard";
import { createApp } from "../src/app";
import { ConfigError, loadConfig } from "../src/config";
import { createDb } from "../src/db/client";
import { suppressions } from "../src/db/schema";
import { clientAddress } from "../src/lib/client-address";
import { keyedHash } from "../src/lib/hash";
import { openDatabase } from "../src/node-deps";
import { startFakeTurnstile } from "./support/fake-turnstile";
import { signUp } from "./support/signup";
import { createTestContext, createTestDb, type TestContext } from "./support/test-app";
import { emailEvent, signedWebhook, TEST_WEBHOOK_SECRET } from "./support/webhooks";

const HOUR = 60 * 60 * 1000;

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext();
});
afterEach(async () => t.close());

/** A JSON signup carrying a genuine form token served five seconds ago, unless `body` brings its own. */
async function jsonSignup(body: Record<string, unknown>, headers: Record<string, string> = {}, app = t.app) {
  const formToken = await issueFormToken(t.config.appSecret, t.clock.now() - 5_000);
  return app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ formToken, ...body }) });
}

describe("client address: unknown means one shared strict bucket, never no limit", () => {
  it("requests whose client address cannot be determined share one bucket and are refused past the limit", async () => {
    // The Node entry reports undefined when the client hung up before its socket address was read.
    const app = createApp({ ...t.deps, clientIp: () => undefined });
    for (let i = 0; i < 10; i++) expect((await jsonSignup({ email: `u${i}@example.com` }, {}, app)).status).toBe(202);
    const over = await jsonSignup({ email: "u10@example.com" }, {}, app);
    expect(over.status).toBe(429);
    expect(over.headers.get("retry-after")).not.toBeNull();
    expect(t.resend.emailsTo("u10@example.com")).toHaveLength(0);
  });

  it("a lookup that throws, and a header that is not an address, count in the same shared bucket", async () => {
    const throwing = createApp({
      ...t.deps,
      clientIp: () => {
        throw new Error("socket closed");
      },
    });
    for (let i = 0; i < 5; i++) expect((await jsonSignup({ email: `th${i}@example.com` }, {}, throwing)).status).toBe(202);
    for (let i = 0; i < 5; i++) expect((await jsonSignup({ email: `bad${i}@example.com` }, { "cf-connecting-ip": "not an address" })).status).toBe(202);
    expect((await jsonSignup({ email: "none@example.com" })).status).toBe(429);
    // A client with a known address is not caught in the shared bucket.
    expect((await jsonSignup({ email: "known@example.com" }, { "cf-connecting-ip": "198.51.100.20" })).status).toBe(202);
  });
});

describe("TRUST_PROXY: the client address behind reverse proxies", () => {
  const socket = () => "10.0.0.1";

  it("off (the default): the socket address, whatever X-Forwarded-For claims", () => {
    expect(clientAddress(0, "203.0.113.9", socket)).toBe("10.0.0.1");
  });

  it("with N trusted proxies: the N-th value from the right of X-Forwarded-For, which the client cannot forge", () => {
    expect(clientAddress(1, "203.0.113.9", socket)).toBe("203.0.113.9");
    expect(clientAddress(1, "6.6.6.6, 203.0.113.9", socket)).toBe("203.0.113.9");
    expect(clientAddress(2, "6.6.6.6, 203.0.113.9 , 10.0.0.2", socket)).toBe("203.0.113.9");
  });

  it("with trust on, a missing or too-short header gives no address (the shared bucket), not the proxy's", () => {
    expect(clientAddress(1, undefined, socket)).toBeUndefined();
    expect(clientAddress(1, "", socket)).toBeUndefined();
    expect(clientAddress(2, "203.0.113.9", socket)).toBeUndefined();
  });

  it("a port after the forwarded address does not make a new bucket, and a value that is not an IP address gives the shared one", () => {
    expect(clientAddress(1, "203.0.113.9:1001", socket)).toBe("203.0.113.9");
    expect(clientAddress(1, "203.0.113.9:1002", socket)).toBe("203.0.113.9");
    expect(clientAddress(1, "[2001:DB8::1]:443", socket)).toBe("2001:db8::1");
    expect(clientAddress(1, "2001:db8::1", socket)).toBe("2001:db8::1");
    for (const junk of ["aa", "unknown", "1.2.3", "999.1.1.1", "<script>"]) expect(clientAddress(1, junk, socket), junk).toBeUndefined();
  });

  it("is validated in the configuration with a clear error", () => {
    expect(loadConfig({}).trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: "true" }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: "false" }).trustProxy).toBe(0);
    expect(loadConfig({ TRUST_PROXY: "2" }).trustProxy).toBe(2);
    expect(() => loadConfig({ TRUST_PROXY: "yes" })).toThrow(/TRUST_PROXY: must be false/);
  });
});

describe("signup limits as configuration", () => {
  it("SIGNUP_LIMIT_PER_IP and its window set the per-client limit", async () => {
    const ctx = await createTestContext({ env: { SIGNUP_LIMIT_PER_IP: "2", SIGNUP_LIMIT_PER_IP_WINDOW_SECONDS: "60" } });
    try {
      const ip = { "cf-connecting-ip": "203.0.113.50" };
      expect((await jsonSignup({ email: "a@example.com" }, ip, ctx.app)).status).toBe(202);
      expect((await jsonSignup({ email: "b@example.com" }, ip, ctx.app)).status).toBe(202);
      const over = await jsonSignup({ email: "c@example.com" }, ip, ctx.app);
      expect(over.status).toBe(429);
      expect(over.headers.get("retry-after")).toBe("60");
      ctx.clock.advance(60_000);
      expect((await jsonSignup({ email: "c@example.com" }, ip, ctx.app)).status).toBe(202);
    } finally {
      await ctx.close();
    }
  });

  it("SIGNUP_LIMIT_PER_ADDRESS and its window set how many confirmation emails one address gets", async () => {
    const ctx = await createTestContext({ env: { SIGNUP_LIMIT_PER_ADDRESS: "1", SIGNUP_LIMIT_PER_ADDRESS_WINDOW_SECONDS: "3600" } });
    try {
      expect((await jsonSignup({ email: "once@example.com" }, {}, ctx.app)).status).toBe(202);
      const again = await jsonSignup({ email: "once@example.com" }, {}, ctx.app);
      expect(again.status).toBe(429);
      expect(again.headers.get("retry-after")).toBe("3600");
      ctx.clock.advance(HOUR);
      expect((await jsonSignup({ email: "once@example.com" }, {}, ctx.app)).status).toBe(202);
      expect(ctx.resend.emailsTo("once@example.com")).toHaveLength(2);
    } finally {
      await ctx.close();
    }
  });

  it("invalid limits are configuration errors that name the variable and the range", () => {
    for (const [name, value] of [
      ["SIGNUP_LIMIT_PER_IP", "0"],
      ["SIGNUP_LIMIT_PER_IP", "ten"],
      ["SIGNUP_LIMIT_PER_ADDRESS", "2.5"],
      ["SIGNUP_LIMIT_PER_ADDRESS_WINDOW_SECONDS", "-1"],
      ["SIGNUP_LIMIT_PER_IP_WINDOW_SECONDS", "99999999"],
    ] as const) {
      let error: unknown;
      try {
        loadConfig({ [name]: value });
      } catch (caught) {
        error = caught;
      }
      expect(error, `${name}=${value}`).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join("\n")).toMatch(new RegExp(`^${name}: must be a whole number from 1 to \\d+$`));
    }
    expect(loadConfig({}).signupLimits).toEqual({ perIp: { limit: 10, windowMs: HOUR }, perAddress: { limit: 3, windowMs: 24 * HOUR } });
  });

  it("numbers are written in decimal digits: 1e3, 0x10 and 8.5 are refused, and an empty value means the default", () => {
    for (const [name, value] of [
      ["SIGNUP_LIMIT_PER_IP", "1e3"],
      ["SIGNUP_LIMIT_PER_IP", "0x10"],
      ["SEND_HOUR", "8.5"],
      ["SEND_HOUR", "24"],
      ["PORT", "0"],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), `${name}=${value}`).toThrow(new RegExp(`${name}: must be a whole number from \\d+ to \\d+`));
    }
    // An empty SEND_HOUR= in a .env file must not mean midnight.
    expect(loadConfig({ SEND_HOUR: "", PORT: " ", SIGNUP_LIMIT_PER_IP: "" })).toMatchObject({ sendHour: 8, port: 3000, signupLimits: { perIp: { limit: 10 } } });
  });
});

describe("a refused request is answered cheaply", () => {
  it("a 429 for a form is a small page with Retry-After, not the landing page; a JSON client gets JSON", async () => {
    const ctx = await createTestContext({ env: { SIGNUP_LIMIT_PER_IP: "1" } });
    try {
      const ip = { "cf-connecting-ip": "203.0.113.51" };
      await signUp(ctx, { email: "first@example.com" }, { headers: ip });
      const page = await signUp(ctx, { email: "second@example.com" }, { headers: ip });
      expect(page.status).toBe(429);
      expect(page.headers.get("retry-after")).toMatch(/^\d+$/);
      const html = await page.text();
      expect(html).toContain("Too many signups from your network");
      // No form, no lesson list: none of the landing page is rendered.
      expect(html).not.toContain("<form");
      expect(html).not.toContain('class="lessons"');
      expect(html.length).toBeLessThan(((await (await ctx.app.request("/")).text()).length * 2) / 3);

      const json = await jsonSignup({ email: "third@example.com" }, ip, ctx.app);
      expect(json.status).toBe(429);
      expect(json.headers.get("content-type")).toContain("application/json");
      expect(((await json.json()) as { error: { code: string } }).error.code).toBe("rate_limited");
    } finally {
      await ctx.close();
    }
  });
});

describe("the per-address limit counts emails the provider accepted", () => {
  it("three provider outages do not lock an address out: the next three signups are still mailed", async () => {
    for (let i = 0; i < 3; i++) {
      t.resend.failNext(500, { times: 5 });
      expect((await signUp(t, { email: "unlucky@example.com" })).status).toBe(503);
      t.resend.reset();
    }
    expect(t.resend.emailsTo("unlucky@example.com")).toHaveLength(0);
    for (let i = 0; i < 3; i++) expect((await signUp(t, { email: "unlucky@example.com" })).status).toBe(303);
    expect(t.resend.emailsTo("unlucky@example.com")).toHaveLength(3);
    expect((await signUp(t, { email: "unlucky@example.com" })).status).toBe(429);
  });

  it("an address the provider refuses as a recipient is a 400 that says so, never a 5xx, and uses up nothing", async () => {
    const refusal = { statusCode: 422, name: "validation_error", message: "Invalid `to` field. The email address needs to follow the `email@example.com` format." };
    t.resend.failNext(422, { body: refusal });
    const page = await signUp(t, { email: "no.such.mailbox@example.com", firstName: "Ana" });
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain("refused this email address");
    expect(html).toContain('value="no.such.mailbox@example.com"');

    t.resend.failNext(422, { body: refusal });
    const json = await jsonSignup({ email: "no.such.mailbox@example.com" });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe("address_refused");
    for (let i = 0; i < 3; i++) expect((await jsonSignup({ email: "no.such.mailbox@example.com" })).status).toBe(202);
  });
});

/** A libSQL client that counts the statements sent through it (a batch counts each statement). */
function countingClient(client: Client) {
  const counter = { statements: [] as string[] };
  const sqlOf = (stmt: unknown) => (typeof stmt === "string" ? stmt : String((stmt as { sql?: unknown }).sql));
  const proxy = new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === "execute") {
        return (stmt: unknown, ...rest: unknown[]) => {
          counter.statements.push(sqlOf(stmt));
          return (value as (...a: unknown[]) => unknown).call(target, stmt, ...rest);
        };
      }
      if (prop === "batch") {
        return (stmts: unknown[], ...rest: unknown[]) => {
          counter.statements.push(...stmts.map(sqlOf));
          return (value as (...a: unknown[]) => unknown).call(target, stmts, ...rest);
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { proxy, counter };
}

describe("no tells: a suppressed address's signup does the same work as any other", () => {
  it("the same database statements, the same email rendered and sent, the same answer", async () => {
    const database = await createTestDb();
    const { client } = await openDatabase(database.url);
    const { proxy, counter } = countingClient(client);
    const db = createDb(proxy as never);
    const app = createApp({ ...t.deps, db });
    const ctx = { ...t, app };
    try {
      // This address bounced once (and was later deleted): only its keyed hash is on the list.
      await db.insert(suppressions).values({ emailHash: await keyedHash(t.config.appSecret, "bounced@example.com"), reason: "bounced", createdAt: t.clock.now() });

      const work = async (email: string) => {
        const page = await app.request("/");
        void page;
        counter.statements.length = 0;
        const sentBefore = t.resend.emails.length;
        const res = await signUp(ctx, { email, firstName: "Ana" }, { fillMs: 5_000 });
        // The occasional clean-up of old counters is the same for everyone but random: leave it out.
        const statements = counter.statements.filter((sql) => !/^delete from "rate_limits"/i.test(sql));
        return { status: res.status, location: res.headers.get("location"), statements, sent: t.resend.emails.length - sentBefore };
      };
      for (let round = 0; round < 4; round++) {
        // The fourth round is over the per-address limit for both: still the same work.
        const plain = await work("plain@example.com");
        const bounced = await work("bounced@example.com");
        expect(bounced, `round ${round}`).toEqual(plain);
      }
    } finally {
      client.close();
      database.close();
    }
  });
});

describe("Turnstile fails closed", () => {
  it("a form without the widget's answer, or with an unreadable one, is refused and nothing is sent", async () => {
    const turnstile = await startFakeTurnstile();
    const ctx = await createTestContext({ env: { TURNSTILE_SECRET: "ts-secret", TURNSTILE_SITE_KEY: "ts-site-key", TURNSTILE_VERIFY_URL: turnstile.url } });
    try {
      const answers: Record<string, string>[] = [{}, { "cf-turnstile-response": "" }, { "cf-turnstile-response": "x".repeat(3000) }];
      for (const fields of answers) {
        const res = await signUp(ctx, { email: "human@example.com", ...fields });
        expect(res.status).toBe(400);
      }
      expect((await jsonSignup({ email: "human@example.com" }, {}, ctx.app)).status).toBe(400);
      turnstile.failNext(500);
      expect((await signUp(ctx, { email: "human@example.com", "cf-turnstile-response": "valid" })).status).toBe(400);
      expect(ctx.resend.emails).toHaveLength(0);
    } finally {
      await ctx.close();
      await turnstile.close();
    }
  });
});

describe("webhook signatures fail closed", () => {
  it("removing any one signature header, or sending an unreadable one, is refused and changes nothing", async () => {
    const ctx = await createTestContext({ env: { RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
    try {
      const signed = signedWebhook(emailEvent("email.complained", { emailId: "x", to: "a@example.com" }), { at: Date.now() });
      for (const name of ["svix-id", "svix-timestamp", "svix-signature"]) {
        const headers = { ...signed.headers };
        delete headers[name];
        expect((await ctx.app.request("/webhooks/resend", { ...signed, headers })).status, name).toBe(401);
      }
      for (const [name, value] of [
        ["svix-signature", "v1,"],
        ["svix-signature", "garbage"],
        ["svix-signature", "v2,abc"],
        ["svix-timestamp", "soon"],
        ["svix-id", "x".repeat(5000)],
      ] as const) {
        const res = await ctx.app.request("/webhooks/resend", { ...signed, headers: { ...signed.headers, [name]: value } });
        expect(res.status, `${name}: ${value.slice(0, 20)}`).toBe(401);
      }
      expect(await ctx.db.$count(suppressions)).toBe(0);
    } finally {
      await ctx.close();
    }
  });
});
