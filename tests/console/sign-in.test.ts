import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adminSessions, adminSignInTokens } from "../../src/db/schema";
import { consoleEnv, csrfFor, followSignInLink, get, OPERATOR, post, requestSignInLink, sessionCookieFrom, signIn } from "../support/console";
import { createTestContext, form, type TestContext } from "../support/test-app";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ env: consoleEnv });
});
afterEach(async () => t.close());

describe("console sign-in", () => {
  it("mails an operator a one-time link that signs them in with an HttpOnly, SameSite=Strict cookie", async () => {
    const link = await requestSignInLink(t, "  OPS@example.com ");
    const res = await followSignInLink(t, link);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin");
    const setCookie = res.headers.get("set-cookie") ?? "";
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Strict/i);
    expect(setCookie).toMatch(/Max-Age=43200/);
    const page = await get(t, "/admin/courses/clear-skin", sessionCookieFrom(res)!);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain("Lesson funnel");
  });

  it("answers a non-operator exactly like an operator, and mails them nothing", async () => {
    const operator = await t.app.request("/admin/login", form({ email: OPERATOR }));
    const stranger = await t.app.request("/admin/login", form({ email: "stranger@example.com" }));
    expect(stranger.status).toBe(operator.status);
    expect(await stranger.text()).toBe(await operator.text());
    expect(t.resend.emailsTo("stranger@example.com")).toHaveLength(0);
    expect(t.resend.emailsTo(OPERATOR)).toHaveLength(1);
  });

  it("refuses a malformed address with a 400 and a message", async () => {
    const res = await t.app.request("/admin/login", form({ email: "not an address" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("valid email address");
  });

  it("opening the link signs nobody in; only the button does", async () => {
    const link = await requestSignInLink(t);
    const page = await t.app.request(link.replace(t.config.appUrl, ""));
    expect(page.status).toBe(200);
    expect(sessionCookieFrom(page)).toBeUndefined();
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
  });

  it("a link works once", async () => {
    const link = await requestSignInLink(t);
    expect((await followSignInLink(t, link)).status).toBe(303);
    const again = await followSignInLink(t, link);
    expect(again.status).toBe(400);
    expect(sessionCookieFrom(again)).toBeUndefined();
    expect(await again.text()).toContain("expired or was used already");
  });

  it("a link expires after 15 minutes", async () => {
    const link = await requestSignInLink(t);
    t.clock.advance(15 * 60 * 1000 + 1);
    expect((await followSignInLink(t, link)).status).toBe(400);
  });

  it("stores only hashes of links and sessions", async () => {
    const link = await requestSignInLink(t);
    const token = new URL(link).searchParams.get("token")!;
    const { cookie } = await signIn(t);
    const sessionId = cookie.split("=")[1]!;
    const stored = JSON.stringify([await t.db.select().from(adminSignInTokens), await t.db.select().from(adminSessions)]);
    expect(stored).not.toContain(token);
    expect(stored).not.toContain(sessionId);
  });

  it("rate-limits sign-in requests for one address", async () => {
    const answers: number[] = [];
    for (let i = 0; i < 7; i++) answers.push((await t.app.request("/admin/login", form({ email: OPERATOR }))).status);
    expect(answers.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    const refused = await t.app.request("/admin/login", form({ email: OPERATOR }));
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("sign-out revokes the session: the same cookie no longer opens the console", async () => {
    const { cookie } = await signIn(t);
    const csrf = await csrfFor(t, cookie);
    const out = await post(t, "/admin/logout", cookie, { csrf });
    expect(out.status).toBe(303);
    const after = await get(t, "/admin/courses/clear-skin", cookie);
    expect(after.status).toBe(303);
    expect(after.headers.get("location")).toBe("/admin/login");
  });

  it("a session ends after 12 hours", async () => {
    const { cookie } = await signIn(t);
    t.clock.advance(12 * 60 * 60 * 1000 + 1);
    expect((await get(t, "/admin/courses/clear-skin", cookie)).headers.get("location")).toBe("/admin/login");
  });

  it("an address removed from ADMIN_EMAILS loses its session", async () => {
    const { cookie } = await signIn(t, "boss@example.com");
    t.deps.config.adminEmails = [OPERATOR];
    expect((await get(t, "/admin/courses/clear-skin", cookie)).status).toBe(303);
  });

  it("refuses a state change without the CSRF token, or with another session's", async () => {
    const { cookie } = await signIn(t);
    const other = await signIn(t, "boss@example.com");
    const otherCsrf = await csrfFor(t, other.cookie);
    expect((await post(t, "/admin/logout", cookie, {})).status).toBe(403);
    expect((await post(t, "/admin/logout", cookie, { csrf: otherCsrf })).status).toBe(403);
    expect((await get(t, "/admin/courses/clear-skin", cookie)).status).toBe(200);
  });

  it("a POST without a session gets a 401 page, a GET is sent to sign in", async () => {
    const res = await post(t, "/admin/logout", "console_session=forged", { csrf: "x" });
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect((await t.app.request("/admin")).headers.get("location")).toBe("/admin/login");
  });

  it("the cookie is Secure and __Host- prefixed when APP_URL is https", async () => {
    const secure = await createTestContext({ env: { ...consoleEnv, APP_URL: "https://course.example" } });
    try {
      const res = await followSignInLink(secure, await requestSignInLink(secure));
      const setCookie = res.headers.get("set-cookie") ?? "";
      expect(setCookie).toMatch(/^__Host-console=/);
      expect(setCookie).toMatch(/Secure/);
    } finally {
      await secure.close();
    }
  });
});

describe("console when off", () => {
  it("without ADMIN_EMAILS every console page is a 404", async () => {
    const off = await createTestContext();
    try {
      expect((await off.app.request("/admin/login")).status).toBe(404);
      expect((await off.app.request("/admin")).status).toBe(404);
      expect((await off.app.request("/admin/login", form({ email: OPERATOR }))).status).toBe(404);
    } finally {
      await off.close();
    }
  });
});
