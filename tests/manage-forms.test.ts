import { eq } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { COURSE } from "../src/course";
import { movedDueAt } from "../src/db/details";
import { claimDue } from "../src/db/drip-queries";
import { enrollments, subscribers } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { formatLocal, MIN_GAP_MS } from "../src/drip/schedule";
import { FORM_TOKEN_TTL_MS, signFormToken } from "../src/lib/form-token";
import type { CapturedEmail } from "./support/fake-resend";
import { confirmByClick, signUp } from "./support/signup";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

/**
 * The manage page's forms: the signed form token that guards them (whatever Origin the browser
 * sends), and the details form where a subscriber fixes their name, time zone and delivery hour.
 */

let t: TestContext;
beforeEach(async () => {
  await t?.close();
  t = await createTestContext();
});
afterAll(async () => t?.close());

const HOUR = 60 * 60 * 1000;
const path = (url: string) => url.replace(TEST_APP_URL, "");

async function pageOf(res: Response): Promise<string> {
  return (await res.text()).replaceAll("&#39;", "'").replaceAll("&quot;", '"');
}

function formTokenIn(html: string): string {
  return html.match(/name="csrf" value="([^"]+)"/)![1]!;
}

function post(url: string, fields: Record<string, string>, headers: Record<string, string> = { origin: TEST_APP_URL }) {
  const init = form(fields);
  return t.app.request(path(url), { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } });
}

function lessonEmails(address: string): CapturedEmail[] {
  return t.resend.emailsTo(address).filter((email) => email.tags?.some((tag) => tag.name === "category" && tag.value === "lesson"));
}

async function subscribe(email: string, timeZone = "UTC") {
  await signUp(t, { email, firstName: "Ana", timeZone });
  const confirmation = t.resend.emailsTo(email).at(-1)!;
  expect((await confirmByClick(t.app, linkIn(confirmation.text, `${TEST_APP_URL}/confirm?token=`))).status).toBe(200);
  await runDispatch(t.deps);
  const [lesson1] = lessonEmails(email);
  const subscriber = (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) }))!;
  const manage = linkIn(lesson1!.text, `${TEST_APP_URL}/manage/`);
  const page = await pageOf(await t.app.request(path(manage)));
  return { subscriber, manage, page, csrf: formTokenIn(page) };
}

const enrollmentOf = (id: string) => t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, id) });
const subscriberOf = (id: string) => t.db.query.subscribers.findFirst({ where: eq(subscribers.id, id) });

describe("signed form tokens on the manage page", () => {
  it("every state-changing form on the manage, delete and unsubscribe pages carries the form token", async () => {
    const { manage, page } = await subscribe("forms@example.com");
    const deletePage = await pageOf(await t.app.request(`${path(manage)}/delete`));
    for (const html of [page, deletePage]) {
      const forms = html.match(/<form[^>]*method="post"[\s\S]*?<\/form>/g) ?? [];
      expect(forms.length).toBeGreaterThan(0);
      for (const f of forms) expect(f).toMatch(/name="csrf" value="[^"]+"/);
    }
  });

  it("a POST with Origin: null (Chromium on a no-referrer page) and a valid form token is accepted", async () => {
    const { subscriber, manage, csrf } = await subscribe("null-origin@example.com");
    const res = await post(`${manage}/pause`, { csrf }, { origin: "null", "sec-fetch-site": "same-origin" });
    expect(res.status).toBe(303);
    expect((await enrollmentOf(subscriber.id))?.state).toBe("paused");
  });

  it("a POST from our own origin without a form token is refused with 403 and a helpful message, and changes nothing", async () => {
    const { subscriber, manage } = await subscribe("no-token@example.com");
    const res = await post(`${manage}/unsubscribe`, {}, { origin: TEST_APP_URL, accept: "text/html" });
    expect(res.status).toBe(403);
    expect(await pageOf(res)).toContain("go back, reload the page and try again");
    expect((await subscriberOf(subscriber.id))?.status).toBe("active");
  });

  it("a form token of another subscriber, an expired one or a forged one is refused", async () => {
    const { subscriber, manage, csrf } = await subscribe("bound@example.com");
    const other = await signFormToken(t.config.appSecret, "someone-else", "manage", t.clock.now());
    const forged = await signFormToken("another-secret-another-secret-another", subscriber.id, "manage", t.clock.now());
    expect((await post(`${manage}/pause`, { csrf: other })).status).toBe(403);
    expect((await post(`${manage}/pause`, { csrf: forged })).status).toBe(403);
    t.clock.advance(FORM_TOKEN_TTL_MS + 1);
    expect((await post(`${manage}/pause`, { csrf })).status).toBe(403);
    expect((await enrollmentOf(subscriber.id))?.state).toBe("active");
  });

  it("a cross-site POST is refused even with a valid form token", async () => {
    const { subscriber, manage, csrf } = await subscribe("cross@example.com");
    expect((await post(`${manage}/delete`, { csrf }, { origin: "https://evil.example" })).status).toBe(403);
    expect((await post(`${manage}/delete`, { csrf }, { "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect(await subscriberOf(subscriber.id)).toBeDefined();
  });

  it("a mail client's one-click unsubscribe needs no form token and no Origin (RFC 8058)", async () => {
    const { subscriber } = await subscribe("one-click@example.com");
    const lesson = lessonEmails("one-click@example.com")[0]!;
    const res = await post(linkIn(lesson.text, `${TEST_APP_URL}/unsubscribe/`), { "List-Unsubscribe": "One-Click" }, {});
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("You have left");
    expect((await subscriberOf(subscriber.id))?.status).toBe("active");
  });
});

describe("details a subscriber can fix", () => {
  it("the manage page shows the current name, zone (preselected, searchable list of IANA zones) and hour", async () => {
    const { page } = await subscribe("show@example.com", "Europe/Lisbon");
    expect(page).toContain('name="firstName"');
    expect(page).toMatch(/<input[^>]*id="timeZone"[^>]*list="time-zones"[^>]*value="Europe\/Lisbon"/);
    expect(page).toContain('<datalist id="time-zones">');
    expect(page).toContain('<option value="America/New_York">');
    expect(page).toMatch(/value="8" checked/);
    for (const label of ["Early morning (06:00)", "Morning (08:00)", "Noon (12:00)", "Evening (18:00)"]) expect(page).toContain(label);
  });

  it("the zone list uses current names (Kyiv, Kolkata), and a zone typed in another case is stored as listed", async () => {
    const { subscriber, page, manage, csrf } = await subscribe("zones@example.com");
    for (const current of ["Europe/Kyiv", "Asia/Kolkata", "Asia/Ho_Chi_Minh"]) expect(page).toContain(`<option value="${current}">`);
    for (const old of ["Europe/Kiev", "Asia/Calcutta", "Asia/Saigon"]) expect(page).not.toContain(`<option value="${old}">`);
    await post(`${manage}/details`, { csrf, firstName: "Ana", timeZone: "europe/kyiv", sendHour: "8" });
    expect(await subscriberOf(subscriber.id)).toMatchObject({ timeZone: "Europe/Kyiv" });
  });

  it("changing zone and hour moves the next lesson to the new local hour, says when it now arrives, and the dispatcher sends it then", async () => {
    const { subscriber, manage, csrf } = await subscribe("move@example.com");
    // Lesson 1 went out on Monday 2 March 2026 at 12:00 UTC; lesson 2 was due Wednesday 08:00 UTC.
    expect((await enrollmentOf(subscriber.id))?.nextSendAt).toBe(Date.parse("2026-03-04T08:00:00Z"));

    const res = await post(`${manage}/details`, { csrf, firstName: "Ana María", timeZone: "America/New_York", sendHour: "18" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${path(manage)}?done=details`);
    const movedTo = Date.parse("2026-03-04T23:00:00Z"); // Wednesday 18:00 in New York (EST, UTC−5)
    expect((await enrollmentOf(subscriber.id))?.nextSendAt).toBe(movedTo);
    expect(await subscriberOf(subscriber.id)).toMatchObject({ firstName: "Ana María", timeZone: "America/New_York", sendHour: 18 });

    const confirmation = await pageOf(await t.app.request(res.headers.get("location")!));
    expect(confirmation).toContain(`Lesson 2 now arrives on ${formatLocal(movedTo, "America/New_York")}`);
    expect(confirmation).toContain("Wednesday 4 March 2026 at 18:00");

    // The ticker runs every hour: nothing before 18:00 New York time, lesson 2 at it.
    while (t.clock.now() + HOUR < movedTo) {
      t.clock.advance(HOUR);
      await runDispatch(t.deps);
    }
    expect(lessonEmails("move@example.com")).toHaveLength(1);
    t.clock.set(movedTo);
    await runDispatch(t.deps);
    const sent = lessonEmails("move@example.com");
    expect(sent.map((email) => email.subject)).toEqual([COURSE.lessons[0]!.subject, COURSE.lessons[1]!.subject]);
    expect(sent[1]!.html).toContain("Ana María");
  });

  it("the moved lesson keeps the 20-hour gap after the last one", async () => {
    const { subscriber, manage, csrf } = await subscribe("gap@example.com");
    // Lesson 1 at Monday 12:00 UTC; "early morning" in Tokyo (UTC+9) on the planned Wednesday is
    // Tuesday 21:00 UTC, 33 hours later: allowed. The rule's edge cases are checked directly below.
    await post(`${manage}/details`, { csrf, firstName: "Ana", timeZone: "Asia/Tokyo", sendHour: "6" });
    const next = (await enrollmentOf(subscriber.id))!.nextSendAt!;
    expect(next).toBe(Date.parse("2026-03-03T21:00:00Z"));
    expect(next - Date.parse("2026-03-02T12:00:00Z")).toBeGreaterThanOrEqual(MIN_GAP_MS);
  });

  it("the dispatcher's claim carries the subscriber's chosen hour (null until they choose one)", async () => {
    const { subscriber, manage, csrf } = await subscribe("claim@example.com");
    const lease = (passId: string) => ({ passId, wallNow: Date.now(), until: Date.now() + 60_000 });
    const due = Date.parse("2026-03-10T00:00:00Z");
    expect((await claimDue(t.db, lease("pass-1"), due, 10)).find((row) => row.subscriberId === subscriber.id)?.sendHour).toBeNull();
    await t.db.update(enrollments).set({ leaseId: null, leaseUntil: null });
    await post(`${manage}/details`, { csrf, firstName: "Ana", timeZone: "UTC", sendHour: "18" });
    expect((await claimDue(t.db, lease("pass-2"), due, 10)).find((row) => row.subscriberId === subscriber.id)?.sendHour).toBe(18);
  });

  it("after the moved lesson, the following lessons also arrive at the subscriber's chosen hour", async () => {
    const { subscriber, manage, csrf } = await subscribe("later@example.com");
    await post(`${manage}/details`, { csrf, firstName: "Ana", timeZone: "UTC", sendHour: "18" });
    const lesson2At = (await enrollmentOf(subscriber.id))!.nextSendAt!;
    expect(new Date(lesson2At).getUTCHours()).toBe(18);
    t.clock.set(lesson2At);
    await runDispatch(t.deps);
    expect(lessonEmails("later@example.com")).toHaveLength(2);
    const lesson3At = (await enrollmentOf(subscriber.id))!.nextSendAt!;
    expect(lesson3At).toBeGreaterThan(lesson2At);
    expect(new Date(lesson3At).getUTCHours()).toBe(18);
  });

  it("a move that would land in the past or within 20 hours of the last lesson goes to the first allowed new hour", () => {
    const lastSentAt = Date.parse("2026-03-02T12:00:00Z");
    // Planned Tuesday 08:00 UTC (20 h after: on the limit); moved to Tuesday 06:00 UTC: too early.
    const moved = movedDueAt({
      dueAt: Date.parse("2026-03-03T08:00:00Z"),
      oldZone: "UTC",
      newZone: "UTC",
      sendHour: 6,
      now: lastSentAt + HOUR,
      lastSentAt,
      pausedUntil: null,
    });
    expect(moved).toBe(Date.parse("2026-03-04T06:00:00Z"));
    const past = movedDueAt({ dueAt: Date.parse("2026-03-05T08:00:00Z"), oldZone: "UTC", newZone: "UTC", sendHour: 6, now: Date.parse("2026-03-05T07:00:00Z"), lastSentAt: null, pausedUntil: null });
    expect(past).toBe(Date.parse("2026-03-06T06:00:00Z"));
  });

  it("refuses an unknown zone, an hour not offered and a name that looks like a link with 400 and keeps what was typed", async () => {
    const { subscriber, manage, csrf } = await subscribe("typos@example.com");
    const res = await post(`${manage}/details`, { csrf, firstName: "www.spam.example", timeZone: "Mars/Olympus", sendHour: "3" });
    expect(res.status).toBe(400);
    const page = await pageOf(res);
    expect(page).toContain("Please choose your time zone from the list");
    expect(page).toContain("Please choose one of the times in the list.");
    expect(page).toMatch(/value="Mars\/Olympus"/);
    expect(page).toContain('aria-invalid="true"');
    expect(await subscriberOf(subscriber.id)).toMatchObject({ firstName: "Ana", timeZone: "UTC", sendHour: null });
    expect((await enrollmentOf(subscriber.id))?.nextSendAt).toBe(Date.parse("2026-03-04T08:00:00Z"));
  });

  it("hostile input (huge or odd fields) is a 4xx, never a 5xx", async () => {
    const { manage, csrf } = await subscribe("hostile@example.com");
    const attempts: Record<string, string>[] = [
      { csrf, firstName: "x".repeat(5000), timeZone: "y".repeat(5000), sendHour: "99999999999999999999" },
      { csrf, firstName: "Ana\r\nBcc: a@b.c", timeZone: "UTC", sendHour: "-1" },
      { csrf },
    ];
    for (const fields of attempts) {
      const res = await post(`${manage}/details`, fields);
      expect(res.status).toBe(400);
    }
  });

  it("an empty first name clears it, and pausing for a week then resumes at the subscriber's own hour", async () => {
    const { subscriber, manage, csrf } = await subscribe("clear@example.com");
    expect((await post(`${manage}/details`, { csrf, firstName: "", timeZone: "UTC", sendHour: "12" })).status).toBe(303);
    expect(await subscriberOf(subscriber.id)).toMatchObject({ firstName: null, sendHour: 12 });
    expect((await post(`${manage}/pause-week`, { csrf })).status).toBe(303);
    const enrollment = await enrollmentOf(subscriber.id);
    expect(new Date(enrollment!.nextSendAt!).getUTCHours()).toBe(12);
  });
});
