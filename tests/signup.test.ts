import { eq } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { enrollments, subscribers } from "../src/db/schema";
import { signUp } from "./support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

let t: TestContext;
beforeEach(async () => {
  await t?.close();
  t = await createTestContext();
});
afterAll(async () => t?.close());

async function subscriberRow(email: string) {
  return t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) });
}

describe("landing page", () => {
  it("get / shows the course, its six lessons and the signup form", async () => {
    const res = await t.app.request("/");
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("Clear Skin from the Inside Out");
    expect(html).toContain('action="/subscribe"');
    expect(html.match(/<li>/g)?.length).toBe(6);
    expect(html).toContain("not medical advice");
  });

  it("serves a strict content security policy without inline scripts", async () => {
    const res = await t.app.request("/");
    expect(res.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(await res.text()).not.toMatch(/<script>(?!<\/script>)/);
  });
});

describe("post /subscribe", () => {
  it("a bad email re-renders the form with a clear message and keeps the typed values", async () => {
    const res = await signUp(t, { email: "not-an-email", firstName: "Ana", timeZone: "Europe/Lisbon" });
    expect(res.status).toBe(400);
    const html = await res.text();
    expect(html).toContain("Please enter a valid email address");
    expect(html).toContain('value="not-an-email"');
    expect(html).toContain('value="Ana"');
    expect(t.resend.emails).toHaveLength(0);
  });

  it("a json client gets a 400 with the same message", async () => {
    const res = await t.app.request("/subscribe", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nope" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe("invalid_signup");
    expect(body.error.message).toContain("Please enter a valid email address");
  });

  it("malformed json is a 400, not a 500", async () => {
    const res = await t.app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    expect(res.status).toBe(400);
  });

  it("a valid signup stores a pending subscriber, sends one confirmation and redirects to check-your-inbox", async () => {
    const res = await signUp(t, { email: " Ana@Example.COM ", firstName: "Ana", timeZone: "Europe/Lisbon" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/check-your-inbox");

    const row = await subscriberRow("ana@example.com");
    expect(row).toMatchObject({ status: "pending", firstName: "Ana", timeZone: "Europe/Lisbon" });
    const [email] = t.resend.emails;
    expect(t.resend.emails).toHaveLength(1);
    expect(email!.to).toEqual(["ana@example.com"]);
    expect(email!.text).toContain(`${TEST_APP_URL}/confirm?token=`);
    expect(email!.html).toContain(`${TEST_APP_URL}/confirm?token=`);
  });

  it("an unknown time zone is stored as UTC", async () => {
    await signUp(t, { email: "tz@example.com", timeZone: "Mars/Olympus_Mons" });
    expect((await subscriberRow("tz@example.com"))?.timeZone).toBe("UTC");
  });

  it("answers a new, a pending and an active address the same way", async () => {
    const first = await signUp(t, { email: "same@example.com" });
    const again = await signUp(t, { email: "same@example.com" });
    const confirm = linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`);
    await t.app.request(confirm.replace(TEST_APP_URL, ""));
    const active = await signUp(t, { email: "same@example.com" });
    for (const res of [first, again, active]) {
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/check-your-inbox");
    }
  });

  it("when the provider refuses the confirmation the person is told to retry, with no 500", async () => {
    t.resend.failNext(500, { times: 5 });
    const res = await signUp(t, { email: "later@example.com" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("120");
    expect(await res.text()).toContain("try again in a few minutes");
  });
});

describe("double opt-in", () => {
  it("signup, then the link in the confirmation email, makes an active subscriber enrolled with lesson 1 due now", async () => {
    await signUp(t, { email: "walk@example.com", firstName: "Sam", timeZone: "Asia/Kolkata" });
    const [email] = t.resend.emailsTo("walk@example.com");
    const link = linkIn(email!.text, `${TEST_APP_URL}/confirm?token=`);

    const res = await t.app.request(link.replace(TEST_APP_URL, ""));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Your subscription is confirmed");

    const row = await subscriberRow("walk@example.com");
    expect(row?.status).toBe("active");
    const enrollment = await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, row!.id) });
    expect(enrollment).toMatchObject({ state: "active", nextLesson: 1, nextSendAt: t.clock.now(), run: 1 });
  });

  it("following the link twice is harmless", async () => {
    await signUp(t, { email: "twice@example.com" });
    const link = linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`).replace(TEST_APP_URL, "");
    expect((await t.app.request(link)).status).toBe(200);
    expect((await t.app.request(link)).status).toBe(200);
    expect(await t.db.$count(enrollments)).toBe(1);
  });

  it("an expired confirmation link is refused with a friendly page", async () => {
    await signUp(t, { email: "late@example.com" });
    const link = linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`).replace(TEST_APP_URL, "");
    t.clock.advance(49 * 60 * 60 * 1000);
    const res = await t.app.request(link);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("invalid or has expired");
    expect((await subscriberRow("late@example.com"))?.status).toBe("pending");
  });

  it("a tampered confirmation link is refused", async () => {
    await signUp(t, { email: "tamper@example.com" });
    const link = linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`).replace(TEST_APP_URL, "");
    const res = await t.app.request(`${link.slice(0, -3)}abc`);
    expect(res.status).toBe(400);
  });
});

describe("health", () => {
  it("get /healthz answers 200 when the database is reachable", async () => {
    const res = await t.app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("get /healthz answers 503 when the database is not reachable", async () => {
    await t.close();
    const res = await t.app.request("/healthz");
    expect(res.status).toBe(503);
  });
});

describe("errors", () => {
  it("an unknown path is a friendly 404 page", async () => {
    const res = await t.app.request("/nope");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("Page not found");
  });
});
