import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import { ConfigError } from "../src/config";
import { rateLimits, subscribers } from "../src/db/schema";
import { hitRateLimit, hitRateLimitsInOrder } from "../src/lib/rate-limit";
import { ipBucket, issueFormToken, RETRY_FILL_MS } from "../src/lib/signup-guard";
import { startFakeTurnstile, type FakeTurnstile } from "./support/fake-turnstile";
import { formTokenIn, signUp } from "./support/signup";
import { createTestContext, form, testConfig, type TestContext } from "./support/test-app";

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

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

async function expectNothingHappened() {
  expect(t.resend.emails).toHaveLength(0);
  expect(await t.db.$count(subscribers)).toBe(0);
}

function expectCalmAnswer(res: Response) {
  expect(res.status).toBe(303);
  expect(res.headers.get("location")).toBe("/check-your-inbox");
}

describe("honeypot", () => {
  it("a filled honeypot gets the usual calm answer, and nothing is sent or stored", async () => {
    expectCalmAnswer(await signUp(t, { email: "bot@example.com", website: "https://spam.example" }));
    const json = await jsonSignup({ email: "bot2@example.com", website: "x" });
    expect(json.status).toBe(202);
    expect(await json.json()).toMatchObject({ status: "pending" });
    await expectNothingHappened();
    expect(await t.db.$count(rateLimits)).toBe(0);
  });

  it("the honeypot is in the page, hidden from people and from screen readers", async () => {
    const html = await (await t.app.request("/")).text();
    expect(html).toMatch(/<div class="hp" aria-hidden="true">/);
    expect(html).toMatch(/name="website"[^>]*tabindex="-1"/);
  });
});

describe("time to fill the form", () => {
  it("the landing page carries a signed form token", async () => {
    const html = await (await t.app.request("/")).text();
    expect(formTokenIn(html)).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
  });

  it("every view of a landing page carries its own form token, timed at that view, and the page is otherwise the same", async () => {
    for (const path of ["/", "/courses/clear-skin"]) {
      const first = await (await t.app.request(path)).text();
      t.clock.advance(3_000);
      const second = await (await t.app.request(path)).text();
      expect(formTokenIn(second)).not.toBe(formTokenIn(first));
      expect(second.replace(formTokenIn(second), "")).toBe(first.replace(formTokenIn(first), ""));
      // The second token counts from the second view: sent 1.5 s after it, it is too fast.
      t.clock.advance(1_500);
      const res = await t.app.request("/subscribe", form({ formToken: formTokenIn(second), email: `view${path.length}@example.com` }));
      expect(res.status).toBe(400);
      expect(await res.text()).toContain("press the button once more");
    }
  });

  it("a form sent faster than the minimum fill time (browser autofill) is not dropped: the page asks for one more click, keeping the fields", async () => {
    const res = await signUp(t, { email: "fast@example.com", firstName: "Fay" }, { fillMs: 500 });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("press the button once more");
    expect(html).toContain('value="fast@example.com"');
    expect(html).toContain('value="Fay"');
    expect(html).not.toContain("Check your inbox");
    await expectNothingHappened();

    // One more click, a moment later, goes through.
    t.clock.advance(RETRY_FILL_MS);
    expectCalmAnswer(await t.app.request("/subscribe", form({ email: "fast@example.com", firstName: "Fay", formToken: formTokenIn(html) })));
    expect(t.resend.emailsTo("fast@example.com")).toHaveLength(1);
  });

  it("a script replaying the 'one more click' form at once is still too fast", async () => {
    const html = await (await signUp(t, { email: "bot-fast@example.com" }, { fillMs: 0 })).text();
    const again = await t.app.request("/subscribe", form({ email: "bot-fast@example.com", formToken: formTokenIn(html) }));
    expect(again.status).toBe(400);
    await expectNothingHappened();
  });

  it("a form posted without its token is refused (fail closed) with the form again, and nothing is sent", async () => {
    const res = await t.app.request("/subscribe", form({ email: "direct@example.com" }));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("send it again");
    expect(html).not.toContain("Check your inbox");
    expect(formTokenIn(html)).toBeTruthy();
    await expectNothingHappened();
  });

  it("a forged, foreign or unreadable form token is refused (fail closed), and nothing is sent", async () => {
    const foreign = await issueFormToken("another-secret-another-secret-another-secret", t.clock.now() - HOUR);
    for (const formToken of ["not-a-token", foreign, "a".repeat(5000)]) {
      const res = await t.app.request("/subscribe", form({ email: "forged@example.com", formToken }));
      expect(res.status).toBe(400);
    }
    const json = await jsonSignup({ email: "forged@example.com", formToken: "not-a-token" });
    expect(json.status).toBe(400);
    await expectNothingHappened();
  });

  it("a JSON client must bring the form token too: without it, a 400 and nothing is sent", async () => {
    const res = await t.app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "api@example.com" }) });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: "form_missing" } });
    await expectNothingHappened();
  });

  it("a form left open for more than a day is shown again with a clear message and a fresh token", async () => {
    const page = await t.app.request("/");
    const old = formTokenIn(await page.text());
    t.clock.advance(25 * HOUR);
    const res = await t.app.request("/subscribe", form({ email: "slow@example.com", formToken: old }));
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("Please send it again");
    expect(html).toContain('value="slow@example.com"');
    const fresh = formTokenIn(html);
    expect(fresh).not.toBe(old);

    t.clock.advance(5_000);
    expectCalmAnswer(await t.app.request("/subscribe", form({ email: "slow@example.com", formToken: fresh })));
    expect(t.resend.emailsTo("slow@example.com")).toHaveLength(1);
  });

  it("a form with a typo keeps its original token, so the corrected form goes through at once", async () => {
    const first = await signUp(t, { email: "typo@example..com" });
    expect(first.status).toBe(400);
    const token = formTokenIn(await first.text());
    // No waiting: the person already took their time the first time round.
    expectCalmAnswer(await t.app.request("/subscribe", form({ email: "typo@example.com", formToken: token })));
    expect(t.resend.emailsTo("typo@example.com")).toHaveLength(1);
  });
});

describe("per-client limit", () => {
  it("more than ten signups an hour from one address get 429 with Retry-After and a clear message", async () => {
    const ip = { "cf-connecting-ip": "203.0.113.7" };
    for (let i = 0; i < 10; i++) expect((await jsonSignup({ email: `p${i}@example.com` }, ip)).status).toBe(202);

    t.clock.advance(10 * MINUTE);
    const res = await jsonSignup({ email: "p10@example.com" }, ip);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe(String(50 * 60));
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error).toMatchObject({ code: "rate_limited", message: "Too many signups from your network. Please try again in 50 minutes." });
    expect(t.resend.emailsTo("p10@example.com")).toHaveLength(0);

    // The form gets a small page with the message (cheap: not the whole landing page again).
    const page = await signUp(t, { email: "p11@example.com", firstName: "Ana" }, { headers: ip });
    expect(page.status).toBe(429);
    expect(Number(page.headers.get("retry-after"))).toBeGreaterThan(40 * 60);
    const html = await page.text();
    expect(html).toContain("Too many signups from your network");
    expect(html).not.toContain('action="/subscribe"');

    // Someone else is not affected, and the limit lifts when the hour is over.
    expect((await jsonSignup({ email: "other@example.com" }, { "cf-connecting-ip": "198.51.100.1" })).status).toBe(202);
    t.clock.advance(HOUR);
    expect((await jsonSignup({ email: "p12@example.com" }, ip)).status).toBe(202);
  });

  it("addresses in the same IPv6 /64 share one limit", async () => {
    for (let i = 0; i < 10; i++) {
      expect((await jsonSignup({ email: `v6-${i}@example.com` }, { "cf-connecting-ip": `2001:db8:1:2::${i + 1}` })).status).toBe(202);
    }
    expect((await jsonSignup({ email: "v6-x@example.com" }, { "cf-connecting-ip": "2001:db8:1:2:ffff::9" })).status).toBe(429);
    expect((await jsonSignup({ email: "v6-y@example.com" }, { "cf-connecting-ip": "2001:db8:1:3::1" })).status).toBe(202);
  });

  it("the runtime's client address (the Node socket) is used when the entry provides it", async () => {
    const app = createApp({ ...t.deps, clientIp: () => "192.0.2.44" });
    for (let i = 0; i < 10; i++) expect((await jsonSignup({ email: `n${i}@example.com` }, {}, app)).status).toBe(202);
    // A forged header changes nothing when the entry reports the socket address.
    expect((await jsonSignup({ email: "n10@example.com" }, { "cf-connecting-ip": "10.9.9.9" }, app)).status).toBe(429);
  });

  it("ipBucket groups IPv6 by /64 and reads IPv4-mapped addresses as IPv4", () => {
    expect(ipBucket("2001:db8:0:1::5")).toBe("2001:db8:0:1::/64");
    expect(ipBucket("2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:0:1::/64");
    expect(ipBucket("::1")).toBe("0:0:0:0::/64");
    expect(ipBucket("::ffff:192.0.2.1")).toBe("192.0.2.1");
    expect(ipBucket("192.0.2.1")).toBe("192.0.2.1");
  });
});

describe("per-address limit", () => {
  it("an address gets at most three confirmation emails a day; the fourth signup is told to check the inbox or try tomorrow, and gets no email", async () => {
    for (let i = 0; i < 3; i++) expectCalmAnswer(await signUp(t, { email: "target@example.com" }));
    expect(t.resend.emailsTo("target@example.com")).toHaveLength(3);

    const fourth = await signUp(t, { email: "target@example.com" });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get("retry-after")).not.toBeNull();
    const html = await fourth.text();
    expect(html).toContain("check your inbox");
    expect(html).toContain("try again in a day");
    const json = await jsonSignup({ email: "TARGET@example.com" });
    expect(json.status).toBe(429);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe("address_limit");
    expect(t.resend.emailsTo("target@example.com")).toHaveLength(3);

    t.clock.advance(24 * HOUR);
    await signUp(t, { email: "target@example.com" });
    expect(t.resend.emailsTo("target@example.com")).toHaveLength(4);
  });

  it("the counters hold keyed hashes, never an IP address or an email address", async () => {
    await jsonSignup({ email: "private@example.com" }, { "cf-connecting-ip": "203.0.113.99" });
    const rows = await t.db.select().from(rateLimits);
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.key).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(rows)).not.toMatch(/203\.0\.113|private@/);
  });

  it("concurrent hits are each counted once (the increment is one atomic statement)", async () => {
    const rule = { limit: 100, windowMs: HOUR };
    const results = await Promise.all(Array.from({ length: 25 }, () => hitRateLimit(t.db, "k", rule, t.clock.now())));
    expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it("a signup refused by the per-client limit or by a failed anti-spam check uses none of the address's three emails", async () => {
    const turnstile = await startFakeTurnstile();
    const ctx = await createTestContext({
      env: { SIGNUP_LIMIT_PER_IP: "1", TURNSTILE_SECRET: "ts-secret", TURNSTILE_SITE_KEY: "ts-site-key", TURNSTILE_VERIFY_URL: turnstile.url },
    });
    try {
      turnstile.valid.add("good");
      const from = (ip: string) => ({ headers: { "cf-connecting-ip": ip } });
      expectCalmAnswer(await signUp(ctx, { email: "first@example.com", "cf-turnstile-response": "good" }, from("203.0.113.1")));
      expect((await signUp(ctx, { email: "target@example.com", "cf-turnstile-response": "good" }, from("203.0.113.1"))).status).toBe(429);
      expect((await signUp(ctx, { email: "target@example.com", "cf-turnstile-response": "wrong" }, from("203.0.113.2"))).status).toBe(400);
      for (const ip of ["203.0.113.3", "203.0.113.4", "203.0.113.5"]) {
        expectCalmAnswer(await signUp(ctx, { email: "target@example.com", "cf-turnstile-response": "good" }, from(ip)));
      }
      expect(ctx.resend.emailsTo("target@example.com")).toHaveLength(3);
      expect((await signUp(ctx, { email: "target@example.com", "cf-turnstile-response": "good" }, from("203.0.113.6"))).status).toBe(429);
    } finally {
      await ctx.close();
      await turnstile.close();
    }
  });

  it("counters hit in order each keep their own window and limit", async () => {
    const now = t.clock.now();
    const short = { key: "short", rule: { limit: 1, windowMs: MINUTE } };
    const long = { key: "long", rule: { limit: 2, windowMs: HOUR } };
    expect(await hitRateLimitsInOrder(t.db, [long, short], now)).toMatchObject([{ allowed: true, count: 1 }, { allowed: true, count: 1 }]);
    expect(await hitRateLimitsInOrder(t.db, [long, short], now + 1)).toMatchObject([{ allowed: true, count: 2 }, { allowed: false, count: 2, retryAfterSeconds: 60 }]);
    expect(await hitRateLimitsInOrder(t.db, [short, long], now + 2 * MINUTE)).toMatchObject([{ allowed: true, count: 1 }, { allowed: false, count: 3 }]);
  });

  it("a counter after one that refused is not touched: a client over its limit leaves no trace of the addresses it tries", async () => {
    const now = t.clock.now();
    const client = { key: "client", rule: { limit: 1, windowMs: HOUR } };
    expect(await hitRateLimitsInOrder(t.db, [client, { key: "address-a", rule: { limit: 3, windowMs: HOUR } }], now)).toHaveLength(2);
    const refused = await hitRateLimitsInOrder(t.db, [client, { key: "address-b", rule: { limit: 3, windowMs: HOUR } }], now + 1);
    expect(refused).toMatchObject([{ allowed: false, count: 2 }]);
    const keys = (await t.db.select({ key: rateLimits.key }).from(rateLimits)).map((r) => r.key).sort();
    expect(keys).toEqual(["address-a", "client"]);
  });

  it("a window that has run out starts again at one", async () => {
    const rule = { limit: 2, windowMs: HOUR };
    const now = t.clock.now();
    expect((await hitRateLimit(t.db, "w", rule, now)).allowed).toBe(true);
    expect((await hitRateLimit(t.db, "w", rule, now + 1)).allowed).toBe(true);
    expect(await hitRateLimit(t.db, "w", rule, now + 2)).toMatchObject({ allowed: false, count: 3, retryAfterSeconds: 3600 });
    expect(await hitRateLimit(t.db, "w", rule, now + HOUR)).toMatchObject({ allowed: true, count: 1 });
  });
});

describe("Turnstile", () => {
  let turnstile: FakeTurnstile;
  let protectedCtx: TestContext;
  beforeEach(async () => {
    turnstile = await startFakeTurnstile();
    protectedCtx = await createTestContext({
      env: { TURNSTILE_SECRET: "ts-secret", TURNSTILE_SITE_KEY: "ts-site-key", TURNSTILE_VERIFY_URL: turnstile.url },
    });
  });
  afterEach(async () => {
    await protectedCtx.close();
    await turnstile.close();
  });

  it("the page shows the widget, and only then does the CSP allow Cloudflare's script and frame", async () => {
    const res = await protectedCtx.app.request("/");
    const html = await res.text();
    expect(html).toContain('class="cf-turnstile" data-sitekey="ts-site-key"');
    expect(html).toContain('src="https://challenges.cloudflare.com/turnstile/v0/api.js"');
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("script-src 'self' https://challenges.cloudflare.com");
    expect(csp).toContain("frame-src https://challenges.cloudflare.com");

    const plain = (await t.app.request("/")).headers.get("content-security-policy")!;
    expect(plain).not.toContain("challenges.cloudflare.com");
    expect(plain).not.toContain("frame-src");
  });

  it("a failed check is a 400 asking to do the check again, and nothing is sent", async () => {
    const res = await signUp(protectedCtx, { email: "human@example.com", "cf-turnstile-response": "wrong" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("Please complete the anti-spam check");
    const json = await jsonSignup({ email: "human@example.com" }, {}, protectedCtx.app);
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: { code: string } }).error.code).toBe("turnstile_failed");
    expect(protectedCtx.resend.emails).toHaveLength(0);
  });

  it("a passed check signs up as usual, sending our secret, the token and the client address to siteverify", async () => {
    turnstile.valid.add("good-token");
    const res = await signUp(protectedCtx, { email: "human@example.com", "cf-turnstile-response": "good-token" }, { headers: { "cf-connecting-ip": "203.0.113.5" } });
    expectCalmAnswer(res);
    expect(protectedCtx.resend.emailsTo("human@example.com")).toHaveLength(1);
    expect(turnstile.requests).toEqual([{ secret: "ts-secret", response: "good-token", remoteip: "203.0.113.5" }]);
  });

  it("when siteverify is down the person is asked to try again in a moment", async () => {
    turnstile.failNext(503);
    turnstile.valid.add("good-token");
    const res = await signUp(protectedCtx, { email: "human@example.com", "cf-turnstile-response": "good-token" });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("try again in a moment");
    expect(protectedCtx.resend.emails).toHaveLength(0);
  });

  it("a Turnstile secret without a site key is a configuration error", () => {
    expect(() => testConfig({ TURNSTILE_SECRET: "ts-secret" })).toThrow(ConfigError);
  });
});

describe("forms from other sites and odd bodies", () => {
  it("a signup posted from another site's page is refused with 403 and nothing is sent", async () => {
    const page = await t.app.request("/");
    const formToken = formTokenIn(await page.text());
    t.clock.advance(5_000);
    for (const headers of [{ origin: "https://evil.example" }, { "sec-fetch-site": "cross-site" }] as Record<string, string>[]) {
      const init = form({ email: "victim@example.com", formToken });
      const res = await t.app.request("/subscribe", { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain("Please sign up on our own page");
    }
    await expectNothingHappened();
  });

  it("a repeated form field counts with its first value only", async () => {
    const page = await t.app.request("/");
    const formToken = formTokenIn(await page.text());
    t.clock.advance(5_000);
    const body = new URLSearchParams([["formToken", formToken], ["email", "first@example.com"], ["email", "second@example.com"]]);
    const res = await t.app.request("/subscribe", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: body.toString() });
    expectCalmAnswer(res);
    expect(t.resend.emailsTo("first@example.com")).toHaveLength(1);
    expect(t.resend.emailsTo("second@example.com")).toHaveLength(0);
  });

  it("a form body is read as a form even when the client asks for JSON back", async () => {
    const page = await t.app.request("/");
    const formToken = formTokenIn(await page.text());
    t.clock.advance(5_000);
    const init = form({ email: "formjson@example.com", formToken });
    const res = await t.app.request("/subscribe", { ...init, headers: { ...(init.headers as Record<string, string>), accept: "application/json" } });
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ status: "pending" });
    expect(t.resend.emailsTo("formjson@example.com")).toHaveLength(1);
  });
});
