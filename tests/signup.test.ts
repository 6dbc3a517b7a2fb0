import { eq } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { deliveries, enrollments, subscribers } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { createApp } from "../src/app";
import type { Db } from "../src/db/client";
import { ALREADY_SUBSCRIBED_EMAIL } from "../src/course/meta";
import { confirmSubscriber } from "../src/db/subscribers";
import { issueFormToken } from "../src/lib/signup-guard";
import { signToken, verifyToken } from "../src/lib/tokens";
import { createSubscriber } from "./support/factories";
import { confirmByClick, confirmFormIn, signUp } from "./support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

let t: TestContext;
beforeEach(async () => {
  await t?.close();
  t = await createTestContext();
});
afterAll(async () => t?.close());

/**
 * The database, except that each `batch` (a write transaction) waits until `parties` of them are
 * pending, or half a second has passed: concurrent requests then all read before any of them writes.
 */
function withBatchBarrier(db: Db, parties: number): Db {
  let waiting: (() => void)[] = [];
  const barrier = () =>
    new Promise<void>((resolve) => {
      waiting.push(resolve);
      if (waiting.length >= parties) {
        for (const release of waiting) release();
        waiting = [];
      } else setTimeout(resolve, 500);
    });
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return async (...args: Parameters<Db["batch"]>) => {
          await barrier();
          return target.batch(...args);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

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
    const formToken = await issueFormToken(t.config.appSecret, t.clock.now() - 5_000);
    const res = await t.app.request("/subscribe", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ email: "nope", formToken }),
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
    await confirmByClick(t.app, linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`));
    const active = await signUp(t, { email: "same@example.com" });
    for (const res of [first, again, active]) {
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe("/check-your-inbox");
    }
  });

  it("an active address that signs up again gets one 'already subscribed' email with its manage link and no confirm link, and the same answer as a new address", async () => {
    const newcomer = await signUp(t, { email: "newcomer@example.com", firstName: "Nia" });

    await signUp(t, { email: "member@example.com", firstName: "Mo" });
    await confirmByClick(t.app, linkIn(t.resend.emailsTo("member@example.com")[0]!.text, `${TEST_APP_URL}/confirm?token=`));
    await runDispatch(t.deps);
    const lesson1 = t.resend.emailsTo("member@example.com").at(-1)!;
    const manageUrl = linkIn(lesson1.text, `${TEST_APP_URL}/manage/`);
    t.resend.reset();

    const member = await signUp(t, { email: "member@example.com", firstName: "Mallory", timeZone: "Asia/Tokyo" });
    expect(member.status).toBe(newcomer.status);
    expect(member.headers.get("location")).toBe(newcomer.headers.get("location"));
    expect(await member.text()).toBe("");

    expect(t.resend.emails).toHaveLength(1);
    const [email] = t.resend.emails;
    expect(email!.to).toEqual(["member@example.com"]);
    expect(email!.subject).toBe(ALREADY_SUBSCRIBED_EMAIL.subject);
    // Its manage link is the person's own (not the lesson's link: that one names the lesson's email too).
    const sentManageUrl = linkIn(email!.text, `${TEST_APP_URL}/manage/`);
    expect(email!.html).toContain(`href="${sentManageUrl}"`);
    const owner = async (url: string) => (await verifyToken(t.config.appSecret, decodeURIComponent(url.split("/manage/")[1]!), "manage", t.clock.now()))?.subscriberId;
    expect(await owner(sentManageUrl)).toBeDefined();
    expect(await owner(sentManageUrl)).toBe(await owner(manageUrl));
    expect((await t.app.request(sentManageUrl.replace(TEST_APP_URL, ""))).status).toBe(200);
    expect(email!.text).not.toContain("/confirm");
    expect(email!.html).not.toContain("/confirm");
    // The form cannot change an active subscriber's details or progress.
    expect(await subscriberRow("member@example.com")).toMatchObject({ status: "active", firstName: "Mo", timeZone: "UTC" });
  });

  it("a json client gets the same answer for an active address as for a new one", async () => {
    const subscribe = async (email: string) => {
      const formToken = await issueFormToken(t.config.appSecret, t.clock.now() - 5_000);
      return t.app.request("/subscribe", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, formToken }) });
    };
    await subscribe("json-member@example.com");
    await confirmByClick(t.app, linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`));
    const active = await subscribe("json-member@example.com");
    const fresh = await subscribe("json-new@example.com");
    expect(active.status).toBe(fresh.status);
    expect(await active.json()).toEqual(await fresh.json());
  });

  it("an active address's repeat signups count against the same daily email limit as confirmations", async () => {
    await signUp(t, { email: "limit-member@example.com" });
    await confirmByClick(t.app, linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`));
    // One confirmation email so far; two more emails fit in the day's limit of three.
    for (let i = 0; i < 4; i++) await signUp(t, { email: "limit-member@example.com" });
    expect(t.resend.emailsTo("limit-member@example.com")).toHaveLength(3);
  });

  it("when the provider refuses the 'already subscribed' email the active address gets the same 503 as a new one", async () => {
    await signUp(t, { email: "member503@example.com" });
    await confirmByClick(t.app, linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`));
    t.resend.failNext(500, { times: 5 });
    const res = await signUp(t, { email: "member503@example.com" });
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("120");
    expect(await res.text()).toContain("try again in a few minutes");
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
  const confirmLink = () => linkIn(t.resend.emails[0]!.text, `${TEST_APP_URL}/confirm?token=`).replace(TEST_APP_URL, "");

  it("signup, then the link in the confirmation email and its Confirm button, makes an active subscriber enrolled with lesson 1 due now", async () => {
    await signUp(t, { email: "walk@example.com", firstName: "Sam", timeZone: "Asia/Kolkata" });
    const [email] = t.resend.emailsTo("walk@example.com");
    const link = linkIn(email!.text, `${TEST_APP_URL}/confirm?token=`);

    const res = await confirmByClick(t.app, link);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("Your subscription is confirmed");

    const row = await subscriberRow("walk@example.com");
    expect(row?.status).toBe("active");
    const enrollment = await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, row!.id) });
    expect(enrollment).toMatchObject({ state: "active", nextLesson: 1, nextSendAt: t.clock.now(), run: 1 });
  });

  it("opening the confirmation link (as mail scanners do, any number of times) changes nothing and shows a Confirm button", async () => {
    let confirmations = 0;
    const app = createApp({ ...t.deps, onConfirmed: () => confirmations++ });
    await signUp({ ...t, app }, { email: "scanned@example.com", firstName: "Sol" });
    for (let i = 0; i < 3; i++) {
      const page = await app.request(confirmLink());
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(confirmFormIn(html)?.action).toBe("/confirm");
      expect(html).toMatch(/<button type="submit">Confirm<\/button>/);
    }
    await app.request(confirmLink(), { method: "HEAD" });
    expect((await subscriberRow("scanned@example.com"))?.status).toBe("pending");
    expect(await t.db.$count(enrollments)).toBe(0);
    expect(confirmations).toBe(0);
    expect((await runDispatch(t.deps)).sent).toBe(0);
  });

  it("only the Confirm button's POST confirms, and it tells the runtime so lesson 1 can go out at once", async () => {
    let confirmations = 0;
    const app = createApp({ ...t.deps, onConfirmed: () => confirmations++ });
    await signUp({ ...t, app }, { email: "person@example.com" });
    expect((await confirmByClick(app, confirmLink())).status).toBe(200);
    expect(confirmations).toBe(1);
    expect((await subscriberRow("person@example.com"))?.status).toBe("active");
  });

  it("the button works when the browser sends Origin: null (the page's no-referrer policy): the signed token is the proof", async () => {
    await signUp(t, { email: "origin-null@example.com" });
    const page = await t.app.request(confirmLink());
    expect(page.headers.get("referrer-policy")).toBe("no-referrer");
    const form = confirmFormIn(await page.text())!;
    const res = await t.app.request("/confirm", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: "null" },
      body: new URLSearchParams(form.fields).toString(),
    });
    expect(res.status).toBe(200);
    expect((await subscriberRow("origin-null@example.com"))?.status).toBe("active");
  });

  it("a JSON client confirms by posting the token", async () => {
    await signUp(t, { email: "api@example.com" });
    const token = new URL(confirmLink(), TEST_APP_URL).searchParams.get("token")!;
    const res = await t.app.request("/confirm", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token }) });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "active" });
  });

  it("a POST without a token, or with a broken one, is a friendly 400 and confirms nobody", async () => {
    await signUp(t, { email: "notoken@example.com" });
    const form = { "content-type": "application/x-www-form-urlencoded" };
    for (const body of ["", "token=", "token=abc.def.ghi", "token=%FF%FE"]) {
      const res = await t.app.request("/confirm", { method: "POST", headers: form, body });
      expect(res.status, body).toBe(400);
      expect(await res.text()).toContain("invalid or has expired");
    }
    expect((await subscriberRow("notoken@example.com"))?.status).toBe("pending");
  });

  it("pressing Confirm twice is harmless", async () => {
    await signUp(t, { email: "twice@example.com" });
    expect((await confirmByClick(t.app, confirmLink())).status).toBe(200);
    expect((await confirmByClick(t.app, confirmLink())).status).toBe(200);
    expect(await t.db.$count(enrollments)).toBe(1);
  });

  it("two confirmations at once (a double click, or two tabs) both answer 200, enrol once and send lesson 1 once", async () => {
    await signUp(t, { email: "race@example.com" });
    // Both requests read before either writes, as two isolates (or processes) sharing one database can.
    const app = createApp({ ...t.deps, db: withBatchBarrier(t.db, 2) });
    const answers = await Promise.all([confirmByClick(app, confirmLink()), confirmByClick(app, confirmLink())]);
    expect(answers.map((res) => res.status)).toEqual([200, 200]);
    expect(await t.db.$count(enrollments)).toBe(1);

    await runDispatch(t.deps);
    await runDispatch(t.deps);
    const lessons = t.resend.emailsTo("race@example.com").filter((email) => email.tags?.some((tag) => tag.value === "lesson"));
    expect(lessons).toHaveLength(1);
    expect(await t.db.$count(deliveries)).toBe(1);
  });

  it("the confirmation pages, which carry the token or a manage link, are neither cached nor indexed", async () => {
    await signUp(t, { email: "private@example.com" });
    const page = await t.app.request(confirmLink());
    const res = await confirmByClick(t.app, confirmLink());
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("/manage/");
    for (const answer of [page, res]) {
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.headers.get("x-robots-tag")).toBe("noindex");
    }
  });

  it("an unsubscribed subscriber is not confirmed, even with a link whose nonce still matches", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now(), { status: "unsubscribed", unsubscribedAt: t.clock.now() }, { state: "stopped", nextSendAt: null });
    const outcome = await confirmSubscriber(t.db, subscriber.id, subscriber.confirmationNonce, "hash", t.clock.now(), () => t.clock.now());
    expect(outcome).toBe("invalid");
    expect((await subscriberRow(subscriber.email))?.status).toBe("unsubscribed");
    expect((await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriber.id) }))?.state).toBe("stopped");
  });

  it("an expired confirmation link is refused with a friendly page, on opening and on posting", async () => {
    await signUp(t, { email: "late@example.com" });
    const link = confirmLink();
    const form = confirmFormIn(await (await t.app.request(link)).text())!;
    t.clock.advance(49 * 60 * 60 * 1000);
    const res = await t.app.request(link);
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("invalid or has expired");
    const posted = await t.app.request("/confirm", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: new URLSearchParams(form.fields).toString() });
    expect(posted.status).toBe(400);
    expect((await subscriberRow("late@example.com"))?.status).toBe("pending");
  });

  it("an expired confirmation link opened by someone already subscribed says they are subscribed", async () => {
    await signUp(t, { email: "member-late@example.com" });
    const link = confirmLink();
    await confirmByClick(t.app, link);
    t.clock.advance(30 * 24 * 60 * 60 * 1000);
    const res = await t.app.request(link);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("already subscribed");
    expect(html).not.toContain("invalid or has expired");
    expect(confirmFormIn(html)).toBeUndefined();
  });

  it("a tampered confirmation link is refused", async () => {
    await signUp(t, { email: "tamper@example.com" });
    const res = await t.app.request(`${confirmLink().slice(0, -3)}abc`);
    expect(res.status).toBe(400);
  });
});

describe("a pending signup belongs to whoever reads the address's mail", () => {
  it("a second signup of a pending address with another name and zone changes nothing stored; each link applies its own details", async () => {
    await signUp(t, { email: "owner@example.com", firstName: "Olga", timeZone: "Europe/Berlin" });
    await signUp(t, { email: "owner@example.com", firstName: "Mallory", timeZone: "Pacific/Fiji" });
    expect(await subscriberRow("owner@example.com")).toMatchObject({ status: "pending", firstName: "Olga", timeZone: "Europe/Berlin" });

    const [mine, theirs] = t.resend.emailsTo("owner@example.com");
    expect(mine!.text).toContain("Olga");
    expect(theirs!.text).toContain("Mallory");
    // The owner confirms from their own email: their details count, the stranger's never did.
    await confirmByClick(t.app, linkIn(mine!.text, `${TEST_APP_URL}/confirm?token=`));
    expect(await subscriberRow("owner@example.com")).toMatchObject({ status: "active", firstName: "Olga", timeZone: "Europe/Berlin" });
  });

  it("the confirmation link does not reveal the name or zone it carries to whoever sees the URL", async () => {
    await signUp(t, { email: "private@example.com", firstName: "Philippa", timeZone: "America/New_York" });
    const link = linkIn(t.resend.emailsTo("private@example.com")[0]!.text, `${TEST_APP_URL}/confirm?token=`);
    const token = decodeURIComponent(new URL(link).searchParams.get("token")!);
    const readable = token
      .split(".")
      .map((part) => Buffer.from(part, "base64url").toString("latin1"))
      .join(" ");
    expect(readable).not.toContain("Philippa");
    expect(readable).not.toContain("New_York");
    await confirmByClick(t.app, link);
    expect(await subscriberRow("private@example.com")).toMatchObject({ firstName: "Philippa", timeZone: "America/New_York" });
  });

  it("once the owner has confirmed, the stranger's still-valid link shows neither its name nor a time in its zone", async () => {
    await signUp(t, { email: "vic@example.com", firstName: "Victoria", timeZone: "Europe/Rome" });
    await signUp(t, { email: "vic@example.com", firstName: "Mallory", timeZone: "Pacific/Kiritimati" });
    const [mine, theirs] = t.resend.emailsTo("vic@example.com");
    await confirmByClick(t.app, linkIn(mine!.text, `${TEST_APP_URL}/confirm?token=`));

    const page = await (await t.app.request(linkIn(theirs!.text, `${TEST_APP_URL}/confirm?token=`).replace(TEST_APP_URL, ""))).text();
    expect(page).toContain("already subscribed");
    expect(page).not.toContain("Mallory");
    expect(confirmFormIn(page)).toBeUndefined();
    expect(await subscriberRow("vic@example.com")).toMatchObject({ firstName: "Victoria", timeZone: "Europe/Rome" });
  });

  it("the owner who signs up again to correct their details gets them by confirming the newer email", async () => {
    await signUp(t, { email: "fixer@example.com", firstName: "Jon", timeZone: "UTC" });
    await signUp(t, { email: "fixer@example.com", firstName: "John", timeZone: "America/Chicago" });
    const newer = t.resend.emailsTo("fixer@example.com").at(-1)!;
    await confirmByClick(t.app, linkIn(newer.text, `${TEST_APP_URL}/confirm?token=`));
    expect(await subscriberRow("fixer@example.com")).toMatchObject({ status: "active", firstName: "John", timeZone: "America/Chicago" });
  });

  it("a confirmation link sent before details travelled in the token still works, with the stored details", async () => {
    await signUp(t, { email: "old-link@example.com", firstName: "Ola", timeZone: "Europe/Oslo" });
    const row = (await subscriberRow("old-link@example.com"))!;
    const legacy = await signToken(t.config.appSecret, { purpose: "confirm", subscriberId: row.id, nonce: row.confirmationNonce, expiresAt: t.clock.now() + 3_600_000 });
    const res = await confirmByClick(t.app, `/confirm?token=${encodeURIComponent(legacy)}`);
    expect(res.status).toBe(200);
    expect(await subscriberRow("old-link@example.com")).toMatchObject({ status: "active", firstName: "Ola", timeZone: "Europe/Oslo" });
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
