import { eq, sql } from "drizzle-orm";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { COURSE, LESSON_COUNT } from "../src/course";
import { claimDue, markSending, upsertDeliveries } from "../src/db/drip-queries";
import { insertBatch } from "../src/db/batch-queries";
import { DEFAULT_COURSE_SLUG, deliveries, enrollments, subscribers, suppressions } from "../src/db/schema";
import { runDispatch } from "../src/drip/dispatch";
import { formatLocal } from "../src/drip/schedule";
import { keyedHash } from "../src/lib/hash";
import { signFormToken } from "../src/lib/form-token";
import { signedSubscriberLinks } from "../src/lib/links";
import { signToken, verifyToken } from "../src/lib/tokens";
import type { CapturedEmail } from "./support/fake-resend";
import { confirmByClick, signUp } from "./support/signup";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

let t: TestContext;
beforeEach(async () => {
  await t?.close();
  t = await createTestContext();
});
afterAll(async () => t?.close());

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;
/** What a browser sends with a form POST from one of our own pages. */
const SAME_ORIGIN = { origin: TEST_APP_URL };

const path = (url: string) => url.replace(TEST_APP_URL, "");

/** A page's HTML with the entities hono/jsx writes for quotes decoded, so assertions read like the page. */
async function pageOf(res: Response): Promise<string> {
  return (await res.text()).replaceAll("&#39;", "'").replaceAll("&quot;", '"');
}

function post(url: string, fields: Record<string, string> = {}, headers: Record<string, string> = SAME_ORIGIN) {
  const init = form(fields);
  return t.app.request(path(url), { ...init, headers: { ...(init.headers as Record<string, string>), ...headers } });
}

/** The signed form token in a page's forms (every state-changing form carries one). */
function formTokenIn(html: string): string {
  const match = html.match(/name="csrf" value="([^"]+)"/);
  if (!match) throw new Error("No form token in the page");
  return match[1]!;
}

/**
 * Submits one of the manage page's forms as a browser does: with the form token from the page as
 * served. After a delete the page is gone, so a token is signed as a page loaded earlier would hold.
 */
async function submit(url: string, fields: Record<string, string> = {}, headers: Record<string, string> = SAME_ORIGIN) {
  const manage = path(url).match(/^\/manage\/[^/?]+/)![0];
  const page = await t.app.request(manage);
  let csrf: string;
  if (page.status === 200) csrf = formTokenIn(await page.text());
  else {
    const claims = await verifyToken(t.config.appSecret, decodeURIComponent(manage.slice("/manage/".length)), "manage", t.clock.now());
    csrf = await signFormToken(t.config.appSecret, claims?.subscriberId ?? "none", "manage", t.clock.now());
  }
  return post(url, { csrf, ...fields }, headers);
}

function lessonEmails(address: string): CapturedEmail[] {
  return t.resend.emailsTo(address).filter((email) => email.tags?.some((tag) => tag.name === "category" && tag.value === "lesson"));
}

function lessonNumbers(address: string): number[] {
  return lessonEmails(address).map((email) => Number(email.tags?.find((tag) => tag.name === "lesson")?.value));
}

/** "Stop all email": the unsubscribe link without a course (as lessons of earlier releases carried). */
async function stopAllEmail(email: string) {
  const subscriber = (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) }))!;
  const { unsubscribeUrl } = await signedSubscriberLinks(TEST_APP_URL, t.config.appSecret, subscriber.id);
  return post(unsubscribeUrl, { "List-Unsubscribe": "One-Click" }, {});
}

/** The links a reader finds in a lesson email. */
function linksIn(email: CapturedEmail) {
  return {
    manage: linkIn(email.text, `${TEST_APP_URL}/manage/`),
    unsubscribe: linkIn(email.text, `${TEST_APP_URL}/unsubscribe/`),
    view: linkIn(email.text, `${TEST_APP_URL}/lessons/`),
  };
}

/** Signs up on the landing page (as a person: the form takes a few seconds), follows the confirmation link and lets the dispatcher send lesson 1. */
async function subscribeAndGetLesson1(email: string, fields: { firstName?: string; timeZone?: string } = {}) {
  await signUp(t, { email, firstName: fields.firstName ?? "Ana", timeZone: fields.timeZone ?? "UTC" });
  const confirmation = t.resend.emailsTo(email).at(-1);
  expect(confirmation, "confirmation email").toBeDefined();
  expect((await confirmByClick(t.app, linkIn(confirmation!.text, `${TEST_APP_URL}/confirm?token=`))).status).toBe(200);
  await runDispatch(t.deps);
  const [lesson1] = lessonEmails(email);
  expect(lesson1?.subject).toBe(COURSE.lessons[0]!.subject);
  const subscriber = (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) }))!;
  return { subscriber, lesson: lesson1!, links: linksIn(lesson1!) };
}

const subscriberRow = (id: string) => t.db.query.subscribers.findFirst({ where: eq(subscribers.id, id) });
const enrollmentRow = (id: string) => t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, id) });

/** Runs the dispatcher once per hour from now until `until`, as the Node ticker would. */
async function runHourlyUntil(until: number) {
  while (t.clock.now() + HOUR <= until) {
    t.clock.advance(HOUR);
    await runDispatch(t.deps);
  }
}

describe("one-click unsubscribe (RFC 8058)", () => {
  it("every lesson carries List-Unsubscribe headers naming the unsubscribe link in its footer", async () => {
    const { lesson, links } = await subscribeAndGetLesson1("headers@example.com");
    expect(lesson.headers?.["List-Unsubscribe"]).toBe(`<${links.unsubscribe}>`);
    expect(lesson.headers?.["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");
  });

  it("a mail client's one-click POST leaves the lesson's course at once and answers 200 without a redirect or a cookie", async () => {
    const { subscriber, lesson } = await subscribeAndGetLesson1("oneclick@example.com");
    const url = lesson.headers!["List-Unsubscribe"]!.slice(1, -1);
    // No Origin, no cookies: the mail provider's servers make this request, not a browser.
    const res = await post(url, { "List-Unsubscribe": "One-Click" }, {});

    expect(res.status).toBe(200);
    expect(res.headers.get("location")).toBeNull();
    expect(res.headers.get("set-cookie")).toBeNull();
    expect(await pageOf(res)).toContain("You have left Clear Skin from the Inside Out");

    // The course stops; consent to hear from the sender (other courses) stays, so nothing is suppressed.
    expect(await subscriberRow(subscriber.id)).toMatchObject({ status: "active", unsubscribedAt: null });
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ state: "stopped", nextSendAt: null });
    const hash = await keyedHash(t.config.appSecret, "oneclick@example.com");
    expect(await t.db.query.suppressions.findFirst({ where: eq(suppressions.emailHash, hash) })).toBeUndefined();
  });

  it("works from any origin, because mail clients post cross-site", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("crosssite@example.com");
    const res = await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, { origin: "https://mail.example.net", "sec-fetch-site": "cross-site" });
    expect(res.status).toBe(200);
    expect((await enrollmentRow(subscriber.id))?.state).toBe("stopped");
  });

  it("accepts the one-click body as multipart/form-data too, as RFC 8058 allows", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("multipart@example.com");
    const body = new FormData();
    body.set("List-Unsubscribe", "One-Click");
    const res = await t.app.request(path(links.unsubscribe), { method: "POST", body });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    expect((await enrollmentRow(subscriber.id))?.state).toBe("stopped");
  });

  it("repeating the one-click POST is harmless and keeps the time the course was left", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("repeat@example.com");
    const first = await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, {});
    const leftAt = t.clock.now();
    t.clock.advance(HOUR);
    const again = await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, {});
    expect([first.status, again.status]).toEqual([200, 200]);
    expect((await enrollmentRow(subscriber.id))?.updatedAt).toBe(leftAt);
    expect(await t.db.$count(suppressions)).toBe(0);
  });

  it("opening the unsubscribe link never unsubscribes: it shows a confirm button and a pause option", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("scanner@example.com");
    // Link scanners in corporate mail fetch every link, sometimes more than once.
    for (let i = 0; i < 2; i++) {
      const res = await t.app.request(path(links.unsubscribe));
      expect(res.status).toBe(200);
      const html = await pageOf(res);
      expect(html).toContain(`action="${path(links.unsubscribe)}"`);
      expect(html).toContain("Yes, unsubscribe me");
      expect(html).toMatch(/action="\/manage\/[^"]+\/pause"/);
      expect(html).toContain("Pause instead");
    }
    expect((await subscriberRow(subscriber.id))?.status).toBe("active");
    expect((await enrollmentRow(subscriber.id))?.state).toBe("active");
  });

  it("the page's confirm button leaves the course and shows a confirmation page with the manage link", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("button@example.com");
    const res = await post(links.unsubscribe);
    expect(res.status).toBe(200);
    const html = await pageOf(res);
    expect(html).toContain("You've left this course");
    expect(html).toMatch(/href="\/manage\/[^"]+"/);
    expect((await enrollmentRow(subscriber.id))?.state).toBe("stopped");
  });

  it("pause instead, from the unsubscribe page, pauses and leads to the manage page", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("rather-pause@example.com");
    const html = await pageOf(await t.app.request(path(links.unsubscribe)));
    const action = html.match(/action="(\/manage\/[^"]+\/pause)"/)![1]!;
    const res = await post(action, { csrf: formTokenIn(html) });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toMatch(/^\/manage\/[^?]+\?done=paused$/);
    expect(await subscriberRow(subscriber.id)).toMatchObject({ status: "active" });
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ state: "paused", pausedUntil: null, nextSendAt: null });
  });

  it("opening the unsubscribe link again later says you have already left the course and offers to delete your data", async () => {
    const { links } = await subscribeAndGetLesson1("later@example.com");
    await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, {});
    const page = await pageOf(await t.app.request(path(links.unsubscribe)));
    expect(page).toContain("You've already left this course");
    expect(page).toMatch(/href="\/manage\/[^"]+\/delete"/);
    expect(page).not.toContain("Yes, unsubscribe me");
  });

  it("the original confirmation link does not re-subscribe someone who unsubscribed", async () => {
    const email = "stale-confirm@example.com";
    await signUp(t, { email, firstName: "Ana", timeZone: "UTC" });
    const confirmLink = path(linkIn(t.resend.emailsTo(email).at(-1)!.text, `${TEST_APP_URL}/confirm?token=`));
    expect((await confirmByClick(t.app, confirmLink)).status).toBe(200);
    await runDispatch(t.deps);
    await stopAllEmail(email);

    t.clock.advance(HOUR);
    const res = await confirmByClick(t.app, confirmLink);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(await pageOf(res)).toContain("This confirmation link is invalid or has expired");

    const subscriber = (await t.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) }))!;
    expect(subscriber.status).toBe("unsubscribed");
    expect((await enrollmentRow(subscriber.id))?.state).toBe("stopped");
    t.clock.advance(30 * DAY);
    await runDispatch(t.deps);
    expect(lessonNumbers(email)).toEqual([1]);
  });

  it("after unsubscribing, no further lesson is ever sent", async () => {
    const { links } = await subscribeAndGetLesson1("gone@example.com");
    await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, {});
    t.clock.advance(30 * DAY);
    await runDispatch(t.deps);
    expect(lessonNumbers("gone@example.com")).toEqual([1]);
  });
});

describe("manage page", () => {
  it("shows progress, state and the next lesson's date and time in the subscriber's own time zone", async () => {
    // Lesson 1 goes out on Monday 2 March 2026 at 12:00 UTC, 07:00 in New York.
    const { links } = await subscribeAndGetLesson1("progress@example.com", { firstName: "Ana", timeZone: "America/New_York" });
    const res = await t.app.request(path(links.manage));
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await pageOf(res);
    expect(html).toContain("Hi Ana");
    expect(html).toContain(`You've received 1 of ${LESSON_COUNT} lessons.`);
    expect(html).toMatch(/<progress[^>]*value="1"[^>]*max="6"/);
    expect(html).toContain("Active");
    expect(html).toContain(`Lesson 2 of 6: ${COURSE.lessons[1]!.title}`);
    expect(html).toContain("Wednesday 4 March 2026 at 08:00 (EST)");
    for (const action of ["pause-week", "pause", "restart", "unsubscribe"]) {
      expect(html).toContain(`action="${path(links.manage)}/${action}"`);
    }
    expect(html).toContain(`href="${path(links.manage)}/delete"`);
  });

  it("shows a one-time message after an action, and ignores unknown messages", async () => {
    const { links } = await subscribeAndGetLesson1("flash@example.com");
    const res = await submit(`${links.manage}/pause`);
    const page = await pageOf(await t.app.request(res.headers.get("location")!));
    expect(page).toContain("your lessons are paused until you resume them");
    expect(page).toContain("Paused until you resume");
    const odd = await pageOf(await t.app.request(`${path(links.manage)}?done=%3Cscript%3E`));
    expect(odd).not.toContain('role="status"');
  });
});

describe("pause and resume", () => {
  it("pause for a week: nothing is sent during the week, then lessons resume by themselves at the local send hour", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("week@example.com", { timeZone: "Europe/Berlin" });
    t.clock.advance(HOUR);
    const res = await submit(`${links.manage}/pause-week`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`${path(links.manage)}?done=paused-week`);

    const pausedUntil = t.clock.now() + 7 * DAY; // Monday 9 March, 13:00 UTC
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ state: "paused", pausedUntil });
    const page = await pageOf(await t.app.request(path(links.manage)));
    expect(page).toContain(`Paused until ${formatLocal(pausedUntil, "Europe/Berlin")}`);

    await runHourlyUntil(pausedUntil);
    expect(lessonNumbers("week@example.com")).toEqual([1]);

    // The first 08:00 in Berlin after the pause: Tuesday 10 March, 07:00 UTC.
    const resumesAt = Date.parse("2026-03-10T07:00:00Z");
    await runHourlyUntil(resumesAt - HOUR);
    expect(lessonNumbers("week@example.com")).toEqual([1]);
    t.clock.set(resumesAt);
    await runDispatch(t.deps);
    expect(lessonNumbers("week@example.com")).toEqual([1, 2]);
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ state: "active", pausedUntil: null, nextLesson: 3 });
  });

  it("pause until resume: nothing is sent until resumed, then the next lesson goes out at the next local send hour, not at once", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("break@example.com", { timeZone: "Asia/Tokyo" });
    expect((await submit(`${links.manage}/pause`)).status).toBe(303);
    await runHourlyUntil(t.clock.now() + 21 * DAY);
    expect(lessonNumbers("break@example.com")).toEqual([1]);

    // Monday 23 March, 15:00 UTC (midnight in Tokyo).
    t.clock.set("2026-03-23T15:00:00Z");
    expect((await submit(`${links.manage}/resume`)).headers.get("location")).toBe(`${path(links.manage)}?done=resumed`);
    const nextSendAt = Date.parse("2026-03-23T23:00:00Z"); // 08:00 on Tuesday in Tokyo
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ state: "active", nextSendAt, nextLesson: 2 });

    await runDispatch(t.deps);
    expect(lessonNumbers("break@example.com")).toEqual([1]);
    await runHourlyUntil(nextSendAt);
    expect(lessonNumbers("break@example.com")).toEqual([1, 2]);
    // One lesson, not a catch-up burst: lesson 3 keeps its usual spacing.
    await runHourlyUntil(nextSendAt + DAY);
    expect(lessonNumbers("break@example.com")).toEqual([1, 2]);
  });

  it("a timed pause can be ended early with resume", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("early@example.com");
    await submit(`${links.manage}/pause-week`);
    t.clock.advance(2 * DAY);
    await submit(`${links.manage}/resume`);
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ state: "active", pausedUntil: null });
    await runHourlyUntil(t.clock.now() + DAY);
    expect(lessonNumbers("early@example.com")).toEqual([1, 2]);
  });
});

describe("restart", () => {
  it("restart sends lesson 1 again, as a new run of the course", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("again@example.com");
    await runHourlyUntil(t.clock.now() + 3 * DAY);
    expect(lessonNumbers("again@example.com")).toEqual([1, 2]);

    const res = await submit(`${links.manage}/restart`);
    expect(res.headers.get("location")).toBe(`${path(links.manage)}?done=restarted`);
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ run: 2, nextLesson: 1, state: "active", nextSendAt: t.clock.now() });
    await runDispatch(t.deps);
    expect(lessonNumbers("again@example.com")).toEqual([1, 2, 1]);
    const rows = await t.db.query.deliveries.findMany({ where: eq(deliveries.subscriberId, subscriber.id) });
    expect(rows.map((row) => [row.run, row.lessonNumber]).sort()).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
    ]);
  });

  it("restart soon after a lesson keeps the 20-hour gap: lesson 1 of the new run waits for the first send hour after it", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("quick-restart@example.com");
    const lastSentAt = (await enrollmentRow(subscriber.id))!.lastSentAt!;
    expect(lastSentAt).toBe(t.clock.now());

    t.clock.advance(HOUR);
    await submit(`${links.manage}/restart`);
    // 20 hours after Monday 12:00:05 is Tuesday 08:00:05, just past the send hour: Wednesday 08:00.
    const due = Date.parse("2026-03-04T08:00:00Z");
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ run: 2, nextLesson: 1, state: "active", nextSendAt: due });
    await runHourlyUntil(due - HOUR);
    expect(lessonNumbers("quick-restart@example.com")).toEqual([1]);

    t.clock.set(due);
    await runDispatch(t.deps);
    expect(lessonNumbers("quick-restart@example.com")).toEqual([1, 1]);
    const rows = await t.db.query.deliveries.findMany({ where: eq(deliveries.subscriberId, subscriber.id) });
    expect(rows.map((row) => [row.run, row.lessonNumber]).sort()).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it("restart at night in Pacific/Fiji waits for 08:00 there; in the daytime it sends at once", async () => {
    const zone = "Pacific/Fiji";
    const { subscriber, links } = await subscribeAndGetLesson1("fiji@example.com", { timeZone: zone });
    // Three days on, at 04:09 in Fiji (UTC+12): long past the 20 hours, but night.
    t.clock.set("2026-03-04T16:09:00Z");
    await submit(`${links.manage}/restart`);
    const row = (await enrollmentRow(subscriber.id))!;
    expect(formatLocal(row.nextSendAt!, zone)).toBe("Thursday 5 March 2026 at 08:00 (GMT+12)");
    await runHourlyUntil(row.nextSendAt! - HOUR);
    expect(lessonNumbers("fiji@example.com")).toEqual([1]);
    t.clock.set(row.nextSendAt!);
    await runDispatch(t.deps);
    expect(lessonNumbers("fiji@example.com")).toEqual([1, 1]);

    // Two days later at 10:30 in Fiji: daytime and 20 hours clear, so lesson 1 goes at once.
    t.clock.set("2026-03-06T22:30:00Z");
    await submit(`${links.manage}/restart`);
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ run: 3, nextLesson: 1, nextSendAt: t.clock.now() });
  });

  it("a finished course shows as completed and can be restarted, but not paused", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("finished@example.com");
    await runHourlyUntil(t.clock.now() + 16 * DAY);
    expect(lessonNumbers("finished@example.com")).toEqual([1, 2, 3, 4, 5, 6]);
    const page = await pageOf(await t.app.request(path(links.manage)));
    expect(page).toContain("Completed");
    expect(page).toContain(`You've received all ${LESSON_COUNT} lessons.`);
    expect(page).not.toContain("/pause-week");

    const pause = await submit(`${links.manage}/pause`);
    expect(pause.status).toBe(409);
    expect(await pageOf(pause)).toContain("Your course is complete");

    await submit(`${links.manage}/restart`);
    await runDispatch(t.deps);
    expect(lessonNumbers("finished@example.com")).toEqual([1, 2, 3, 4, 5, 6, 1]);
    expect((await enrollmentRow(subscriber.id))?.run).toBe(2);
  });
});

describe("unsubscribe and delete", () => {
  it("unsubscribing from the manage page stops lessons; pausing, resuming and restarting are then refused kindly", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("leave@example.com");
    const res = await submit(`${links.manage}/unsubscribe`);
    expect(res.headers.get("location")).toBe(`${path(links.manage)}?done=unsubscribed`);
    expect((await subscriberRow(subscriber.id))?.status).toBe("unsubscribed");

    const page = await pageOf(await t.app.request(res.headers.get("location")!));
    expect(page).toContain("Unsubscribed");
    expect(page).toContain(`href="${path(links.manage)}/delete"`);
    expect(page).not.toContain("/pause-week");

    for (const action of ["pause", "pause-week", "resume", "restart"]) {
      const refused = await submit(`${links.manage}/${action}`);
      expect(refused.status, action).toBe(409);
      expect(await pageOf(refused)).toContain("sign up on the home page");
    }
    expect((await enrollmentRow(subscriber.id))?.state).toBe("stopped");
  });

  it("an unsubscribe landing after a running pass claimed the lesson still stops it", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("claimed@example.com");
    t.clock.set((await enrollmentRow(subscriber.id))!.nextSendAt!);
    const lease = { passId: "running-pass", wallNow: Date.now(), until: Date.now() + 5 * 60_000 };
    const claimed = await claimDue(t.db, lease, t.clock.now(), 100);
    expect(claimed.map((row) => row.subscriberId)).toEqual([subscriber.id]);

    await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, {});

    // The dispatcher's last check before it sends finds nobody left to send to.
    const rows = await upsertDeliveries(t.db, claimed, () => crypto.randomUUID(), t.clock.now());
    const batch = { id: "batch-key", course: DEFAULT_COURSE_SLUG, lesson: 2 };
    const [, marked] = await t.db.batch([insertBatch(t.db, batch, lease, t.clock.now()), markSending(t.db, "running-pass", "running-pass", batch.id, rows.map((row) => row.id), t.clock.now())]);
    expect(marked.rows).toEqual([]);
    t.clock.advance(10 * 60_000);
    await runDispatch(t.deps);
    expect(lessonNumbers("claimed@example.com")).toEqual([1]);
  });

  it("delete asks for confirmation first", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("confirm-delete@example.com");
    const res = await t.app.request(`${path(links.manage)}/delete`);
    expect(res.status).toBe(200);
    const html = await pageOf(res);
    expect(html).toContain("Delete your data?");
    expect(html).toContain(`action="${path(links.manage)}/delete"`);
    expect(await subscriberRow(subscriber.id)).toBeDefined();
  });

  it("delete erases subscriber, enrollment and deliveries and keeps only a hash of the address", async () => {
    const email = "erase-me@example.com";
    const { subscriber, links } = await subscribeAndGetLesson1(email, { firstName: "Zebediah" });
    expect(await t.db.$count(deliveries)).toBe(1);

    const res = await submit(`${links.manage}/delete`);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/deleted");
    expect(await pageOf(await t.app.request("/deleted"))).toContain("Your data has been deleted");

    expect(await t.db.$count(subscribers)).toBe(0);
    expect(await t.db.$count(enrollments)).toBe(0);
    expect(await t.db.$count(deliveries)).toBe(0);
    expect(await t.db.select().from(suppressions)).toEqual([
      { emailHash: await keyedHash(t.config.appSecret, email), reason: "deleted", createdAt: t.clock.now() },
    ]);

    // Nothing that identifies the person is left in any row of any table.
    const tables = await t.db.all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'table'`);
    // One exception: the `subscriber.deleted` event keeps the random id, so other tools connected
    // through the API and webhooks can erase the person too; their earlier events are gone.
    expect(await t.db.all(sql`SELECT type FROM events WHERE subscriber_id = ${subscriber.id}`)).toEqual([{ type: "subscriber.deleted" }]);
    for (const { name } of tables) {
      const where = name === "events" ? " WHERE type <> 'subscriber.deleted'" : "";
      const rows = JSON.stringify(await t.db.all(sql.raw(`SELECT * FROM "${name}"${where}`)));
      expect(rows, name).not.toContain(email);
      expect(rows, name).not.toContain("Zebediah");
      expect(rows, name).not.toContain(subscriber.id);
    }

    t.clock.advance(30 * DAY);
    await runDispatch(t.deps);
    expect(lessonNumbers(email)).toEqual([1]);
  });

  it("after delete, every link the person has answers with a friendly 404", async () => {
    const { links } = await subscribeAndGetLesson1("links@example.com");
    await submit(`${links.manage}/delete`);
    const answers = [
      await t.app.request(path(links.manage)),
      await t.app.request(`${path(links.manage)}/delete`),
      await submit(`${links.manage}/pause`),
      await submit(`${links.manage}/delete`),
      await t.app.request(path(links.unsubscribe)),
      await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, {}),
      await t.app.request(path(links.view)),
    ];
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(await pageOf(res)).toContain("This link doesn't work");
    }
  });

  it("deleting after unsubscribing records the deletion on the suppression list", async () => {
    const { links } = await subscribeAndGetLesson1("both@example.com");
    await post(links.unsubscribe, { "List-Unsubscribe": "One-Click" }, {});
    await submit(`${links.manage}/delete`);
    expect(await t.db.select({ reason: suppressions.reason }).from(suppressions)).toEqual([{ reason: "deleted" }]);
  });

  it("signing up again after unsubscribing needs a new confirmation, then continues where it left off", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("comeback@example.com");
    await stopAllEmail("comeback@example.com");
    t.clock.advance(3 * DAY);
    await signUp(t, { email: "comeback@example.com", timeZone: "UTC" });
    expect((await subscriberRow(subscriber.id))?.status).toBe("pending");
    const early = await submit(`${links.manage}/resume`);
    expect(early.status).toBe(409);
    expect(await pageOf(early)).toContain("confirm your address");
    await runHourlyUntil(t.clock.now() + DAY);
    expect(lessonNumbers("comeback@example.com")).toEqual([1]);

    const confirmation = t.resend.emailsTo("comeback@example.com").at(-1)!;
    await confirmByClick(t.app, linkIn(confirmation.text, `${TEST_APP_URL}/confirm?token=`));
    await runHourlyUntil(t.clock.now() + DAY);
    expect(lessonNumbers("comeback@example.com")).toEqual([1, 2]);
  });
});

describe("links and tokens", () => {
  it("a tampered manage or unsubscribe link gets a friendly 404 page and changes nothing", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("tamper@example.com");
    const tamper = (url: string) => `${path(url).slice(0, -4)}AAAA`;
    const answers = [
      await t.app.request(tamper(links.manage)),
      await post(`${tamper(links.manage)}/unsubscribe`),
      await t.app.request(tamper(links.unsubscribe)),
      await post(tamper(links.unsubscribe), { "List-Unsubscribe": "One-Click" }, {}),
      await t.app.request("/manage/not-a-token"),
    ];
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.headers.get("content-type")).toContain("text/html");
      expect(await pageOf(res)).toContain("This link doesn't work");
    }
    expect((await subscriberRow(subscriber.id))?.status).toBe("active");
  });

  it("an older link's token (a JWT made for one purpose) only works for that purpose", async () => {
    const { subscriber } = await subscribeAndGetLesson1("purpose@example.com");
    const secret = t.config.appSecret;
    const manageToken = await signToken(secret, { purpose: "manage", subscriberId: subscriber.id });
    const unsubscribeToken = await signToken(secret, { purpose: "unsubscribe", subscriberId: subscriber.id });
    const lessonToken = await signToken(secret, { purpose: "lesson", subscriberId: subscriber.id, lesson: 1 });

    expect((await post(`/unsubscribe/${manageToken}`, { "List-Unsubscribe": "One-Click" }, {})).status).toBe(404);
    expect((await t.app.request(`/manage/${unsubscribeToken}`)).status).toBe(404);
    expect((await post(`/manage/${lessonToken}/unsubscribe`)).status).toBe(404);
    expect((await t.app.request(`/lessons/${COURSE.lessons[0]!.slug}?token=${manageToken}`)).status).toBe(404);
    expect((await t.app.request(`/confirm?token=${manageToken}`)).status).toBe(400);
    expect((await subscriberRow(subscriber.id))?.status).toBe("active");
  });

  it("a token for an unknown subscriber is a 404", async () => {
    const token = await signToken(t.config.appSecret, { purpose: "manage", subscriberId: "nobody" });
    expect((await t.app.request(`/manage/${token}`)).status).toBe(404);
  });
});

describe("cross-site request protection", () => {
  it("a manage POST from another site is refused with 403 and changes nothing", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("csrf@example.com");
    const attempts = [
      await post(`${links.manage}/unsubscribe`, {}, { origin: "https://evil.example" }),
      await post(`${links.manage}/delete`, {}, { origin: "https://evil.example", "sec-fetch-site": "cross-site" }),
      await post(`${links.manage}/pause`, {}, {}),
      await post(`${links.manage}/restart`, {}, { origin: "null" }),
    ];
    for (const res of attempts) expect(res.status).toBe(403);
    expect((await subscriberRow(subscriber.id))?.status).toBe("active");
    expect(await enrollmentRow(subscriber.id)).toMatchObject({ state: "active", run: 1 });
  });

  it("a manage POST that a browser marks same-origin is accepted", async () => {
    const { subscriber, links } = await subscribeAndGetLesson1("same-site@example.com");
    const res = await submit(`${links.manage}/pause`, {}, { "sec-fetch-site": "same-origin" });
    expect(res.status).toBe(303);
    expect((await enrollmentRow(subscriber.id))?.state).toBe("paused");
  });
});

describe("web archive (view in browser)", () => {
  it("the view-in-browser link shows the lesson, personalised, under a policy that allows inline styles only", async () => {
    const { links } = await subscribeAndGetLesson1("reader@example.com", { firstName: "Ana" });
    const res = await t.app.request(path(links.view));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toBe(
      "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
    expect(res.headers.get("cache-control")).toBe("no-store");
    const html = await pageOf(res);
    expect(html).toContain(COURSE.lessons[0]!.title);
    expect(html).toContain("Hi Ana,");
    expect(html).toContain(`${TEST_APP_URL}/manage/`);
    expect(html).toContain(`${TEST_APP_URL}/unsubscribe/`);
    expect(html).not.toContain("<script");
  });

  it("without a valid token the archive is a 404 that shows nothing of the lesson", async () => {
    const { links } = await subscribeAndGetLesson1("snoop@example.com");
    const slug = COURSE.lessons[0]!.slug;
    const token = new URL(links.view).searchParams.get("token")!;
    for (const url of [`/lessons/${slug}`, `/lessons/${slug}?token=`, `/lessons/${slug}?token=${token.slice(0, -4)}AAAA`, `/lessons/no-such-lesson?token=${token}`]) {
      const res = await t.app.request(url);
      expect(res.status, url).toBe(404);
      expect(await pageOf(res)).not.toContain(COURSE.lessons[0]!.title);
    }
  });

  it("a lesson token opens only its own lesson", async () => {
    const { links } = await subscribeAndGetLesson1("other-lesson@example.com");
    const token = new URL(links.view).searchParams.get("token")!;
    const res = await t.app.request(`/lessons/${COURSE.lessons[1]!.slug}?token=${token}`);
    expect(res.status).toBe(404);
    expect(await pageOf(res)).not.toContain(COURSE.lessons[1]!.title);
  });
});
