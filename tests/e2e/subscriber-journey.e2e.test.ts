import { eq } from "drizzle-orm";
import { join } from "node:path";
import type { BrowserContextOptions, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSession } from "../support/browser-session";
import { COURSE } from "../../src/course";
import { enrollments, subscribers, suppressions } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { MIN_GAP_MS } from "../../src/drip/schedule";
import type { CapturedEmail } from "../support/fake-resend";
import { linkIn } from "../support/test-app";
import { SCREENSHOT_DIR } from "../support/browser";

/**
 * A subscriber's whole journey in real Chromium against the real app over HTTP: sign up on the
 * landing page, confirm from the captured email, get lesson 1, then pause, resume and unsubscribe
 * from the links in that email. Screenshots of every page land in test-artifacts/screenshots.
 * Run: npm run test:e2e (needs Chromium at /usr/bin/chromium, or CHROMIUM_PATH).
 */

const PHONE: BrowserContextOptions = { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, timezoneId: "Europe/Lisbon", locale: "en-GB" };

const session = browserSession();

async function snap(page: Page, step: string) {
  // Every page must fit a phone screen: nothing may scroll sideways.
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth }));
  expect(scrollWidth, `${step} fits the window`).toBeLessThanOrEqual(innerWidth);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `journey-${step}.png`), fullPage: true });
}

async function subscriberRow(email: string) {
  return session.live.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) });
}

async function enrollmentOf(email: string) {
  const subscriber = await subscriberRow(email);
  return session.live.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriber!.id) });
}

function lessonEmails(address: string): CapturedEmail[] {
  return session.live.resend.emailsTo(address).filter((email) => email.tags?.some((tag) => tag.value === "lesson"));
}

/**
 * Landing page → form → confirmation link from the captured email → its Confirm button → lesson 1
 * from the dispatcher. `mailbox` is the address as stored and mailed, when it differs from the typed one.
 */
async function signUpInBrowser(page: Page, email: string, firstName: string, snapshots = true, mailbox = email) {
  await page.goto(`${session.live.url}/`);
  if (snapshots) await snap(page, "1-landing");
  await page.getByLabel("Email address", { exact: true }).fill(email);
  await page.getByLabel("First name").fill(firstName);
  // People take a few seconds over a form; the signup refuses anything faster.
  session.live.clock.advance(5_000);
  await page.getByRole("button", { name: "Send me the course" }).click();
  await page.waitForURL(`${session.live.url}/check-your-inbox`);
  await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("Check your inbox");
  if (snapshots) await snap(page, "2-check-your-inbox");

  const [confirmation] = session.live.resend.emailsTo(mailbox);
  expect(confirmation, "confirmation email").toBeDefined();
  // Opening the link (as a mail scanner would too) only shows the Confirm button.
  await page.goto(linkIn(confirmation!.text, `${session.live.url}/confirm?token=`));
  expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Confirm your subscription");
  expect((await subscriberRow(mailbox))?.status).toBe("pending");
  if (snapshots) await snap(page, "3-confirm");
  await page.getByRole("button", { name: "Confirm" }).click();
  await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("You're in!");
  if (snapshots) await snap(page, "3-confirmed");

  await runDispatch(session.live.deps);
  const [lesson] = lessonEmails(mailbox);
  expect(lesson?.subject).toBe(COURSE.lessons[0]!.subject);
  return lesson!;
}

describe("a subscriber in a real browser", () => {
  it("signs up with a Persian name at ivan@пример.рф (Chromium submits the xn-- form) and gets lesson 1 by name", async () => {
    const context = await session.browser.newContext(PHONE);
    const page = await context.newPage();
    try {
      const name = "علی‌رضا";
      const lesson = await signUpInBrowser(page, "ivan@пример.рф", name, false, "ivan@xn--e1afmkfd.xn--p1ai");
      expect(lesson.text).toContain(`Hi ${name},`);
      expect(await subscriberRow("ivan@xn--e1afmkfd.xn--p1ai")).toMatchObject({ status: "active", firstName: name });
    } finally {
      await context.close();
    }
  });

  it("signs up, confirms, gets lesson 1, then pauses, resumes and leaves the course from the email's links", async () => {
    const context = await session.browser.newContext(PHONE);
    const page = await context.newPage();
    const email = "maya@example.com";
    try {
      const lesson = await signUpInBrowser(page, email, "Maya");
      expect(await subscriberRow(email)).toMatchObject({ status: "active", firstName: "Maya", timeZone: "Europe/Lisbon" });

      // The lesson as a web page, from its "View in browser" link.
      await page.goto(linkIn(lesson.text, `${session.live.url}/lessons/`));
      await expect.poll(() => page.locator("body").textContent()).toContain("Hi Maya,");
      await snap(page, "4-view-in-browser");

      await page.goto(linkIn(lesson.text, `${session.live.url}/manage/`));
      const main = page.locator("main");
      expect(await main.textContent()).toContain("You've received 1 of 6 lessons.");
      expect(await main.textContent()).toContain(`Lesson 2 of 6: ${COURSE.lessons[1]!.title}`);
      expect(await page.locator("dd").first().textContent()).toBe("Active");
      await snap(page, "5-manage");

      await page.getByRole("button", { name: "Pause until I resume" }).click();
      await page.waitForURL(/\?done=paused$/);
      expect(await page.getByRole("status").textContent()).toContain("paused until you resume");
      expect(await main.textContent()).toContain("Paused until you resume");
      expect(await enrollmentOf(email)).toMatchObject({ state: "paused", pausedUntil: null, nextSendAt: null });
      await snap(page, "6-paused");

      await page.getByRole("button", { name: "Resume my lessons" }).click();
      await page.waitForURL(/\?done=resumed$/);
      expect(await page.getByRole("status").textContent()).toContain("Welcome back");
      expect(await page.locator("dd").first().textContent()).toBe("Active");
      const resumed = await enrollmentOf(email);
      expect(resumed?.state).toBe("active");
      // The next lesson waits for a morning send time, at least a day after lesson 1: no burst.
      expect(resumed!.nextSendAt!).toBeGreaterThanOrEqual(resumed!.lastSentAt! + MIN_GAP_MS);
      await snap(page, "7-resumed");

      // The unsubscribe link from the footer: opening it changes nothing.
      const unsubscribeUrl = linkIn(lesson.text, `${session.live.url}/unsubscribe/`);
      expect(lesson.headers?.["List-Unsubscribe"]).toBe(`<${unsubscribeUrl}>`);
      await page.goto(unsubscribeUrl);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Unsubscribe?");
      expect(await page.getByRole("button", { name: "Pause instead" }).isVisible()).toBe(true);
      expect((await subscriberRow(email))?.status).toBe("active");
      await snap(page, "8-unsubscribe");

      await page.getByRole("button", { name: "Yes, unsubscribe me" }).click();
      // A lesson's link leaves its course; the person stays subscribed (other courses would carry on).
      await expect.poll(() => page.getByRole("heading", { level: 1 }).textContent()).toBe("You've left this course");
      expect((await subscriberRow(email))?.status).toBe("active");
      expect((await enrollmentOf(email))?.state).toBe("stopped");
      await snap(page, "9-unsubscribed");

      // Nothing more arrives, however long we wait.
      session.live.clock.advance(30 * 24 * 60 * 60 * 1000);
      await runDispatch(session.live.deps);
      expect(lessonEmails(email)).toHaveLength(1);
    } finally {
      await context.close();
    }
  });

  it("with JavaScript off, a subscriber can pause for a week and then delete their data", async () => {
    const context = await session.browser.newContext({ ...PHONE, javaScriptEnabled: false });
    const page = await context.newPage();
    const email = "nojs@example.com";
    try {
      const lesson = await signUpInBrowser(page, email, "Noor", false);
      // Without the time-zone script the subscriber's zone is UTC.
      expect((await subscriberRow(email))?.timeZone).toBe("UTC");

      await page.goto(linkIn(lesson.text, `${session.live.url}/manage/`));
      await page.getByRole("button", { name: "Pause for a week" }).click();
      await page.waitForURL(/\?done=paused-week$/);
      expect(await page.locator("dd").first().textContent()).toMatch(/^Paused until \w+day \d+ \w+ \d{4} at \d\d:\d\d/);
      expect((await enrollmentOf(email))?.state).toBe("paused");
      await snap(page, "10-paused-week");

      await page.getByRole("link", { name: "Delete my data…" }).click();
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Delete your data?");
      await snap(page, "11-delete-confirm");
      await page.getByRole("button", { name: "Yes, delete my data" }).click();
      await page.waitForURL(`${session.live.url}/deleted`);
      expect(await page.getByRole("heading", { level: 1 }).textContent()).toBe("Your data has been deleted");
      await snap(page, "12-deleted");

      expect(await subscriberRow(email)).toBeUndefined();
      expect(await session.live.db.$count(suppressions)).toBe(1);
      // Their old links now lead to a friendly "not found" page.
      const res = await page.goto(linkIn(lesson.text, `${session.live.url}/manage/`));
      expect(res?.status()).toBe(404);
      expect(await page.locator("main").textContent()).toContain("This link doesn't work");
      await snap(page, "13-link-after-delete");
    } finally {
      await context.close();
    }
  });

  it("the manage page reads well on a desktop screen too", async () => {
    const context = await session.browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "America/New_York" });
    const page = await context.newPage();
    try {
      const lesson = await signUpInBrowser(page, "desk@example.com", "Dana", false);
      await page.goto(linkIn(lesson.text, `${session.live.url}/manage/`));
      expect(await page.locator("main").textContent()).toContain("America/New_York");
      await snap(page, "desktop-manage");
    } finally {
      await context.close();
    }
  });
});
