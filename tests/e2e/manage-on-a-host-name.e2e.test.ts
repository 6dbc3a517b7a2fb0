import { eq } from "drizzle-orm";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSession } from "../support/browser-session";
import { COURSE } from "../../src/course";
import { enrollments, subscribers } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { formatLocal } from "../../src/drip/schedule";
import type { CapturedEmail } from "../support/fake-resend";
import { linkIn } from "../support/test-app";
import { confirmInBrowser, signUpInBrowser } from "./audit";

/**
 * The manage page as a real deployment over plain HTTP serves it: under a host name that is not
 * localhost (course.test, mapped to 127.0.0.1 inside Chromium). Pages with a token in their URL say
 * `Referrer-Policy: no-referrer`, so Chromium posts their forms with `Origin: null`; the signed
 * form token is what lets them through.
 */

const HOST = "course.test";
const HOUR = 60 * 60 * 1000;

const session = browserSession({ chromiumArgs: [`--host-resolver-rules=MAP ${HOST} 127.0.0.1`], app: { hostName: HOST } });

const subscriberRow = (email: string) => session.live.db.query.subscribers.findFirst({ where: eq(subscribers.email, email) });
async function enrollmentOf(email: string) {
  const subscriber = await subscriberRow(email);
  return session.live.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, subscriber!.id) });
}
const lessonEmails = (email: string): CapturedEmail[] => session.live.resend.emailsTo(email).filter((sent) => sent.tags?.some((tag) => tag.value === "lesson"));

/** Signs up and confirms in the browser; returns lesson 1's manage link. */
async function subscribe(page: Page, email: string): Promise<string> {
  await confirmInBrowser(page, await signUpInBrowser(session.live, page, email, "Maya"));
  await runDispatch(session.live.deps);
  const [lesson] = lessonEmails(email);
  expect(lesson, "lesson 1").toBeDefined();
  return linkIn(lesson!.text, `${session.live.url}/manage/`);
}

describe(`the manage page served as http://${HOST}`, () => {
  it("pause, resume and delete work from the page's own buttons (Origin: null, signed form token)", async () => {
    expect(session.live.url).toMatch(new RegExp(`^http://${HOST.replace(".", "\\.")}:\\d+$`));
    const context = await session.browser.newContext({ viewport: { width: 375, height: 800 }, timezoneId: "Europe/Lisbon" });
    const page = await context.newPage();
    const origins: (string | undefined)[] = [];
    page.on("request", (request) => {
      if (request.method() === "POST" && request.url().includes("/manage/")) origins.push(request.headers()["origin"]);
    });
    const email = "host@example.com";
    try {
      const manageUrl = await subscribe(page, email);
      const response = await page.goto(manageUrl);
      expect(response?.headers()["referrer-policy"]).toBe("no-referrer");

      await page.getByRole("button", { name: "Pause until I resume" }).click();
      await page.waitForURL(/\?done=paused$/);
      expect((await enrollmentOf(email))?.state).toBe("paused");

      await page.getByRole("button", { name: "Resume my lessons" }).click();
      await page.waitForURL(/\?done=resumed$/);
      expect((await enrollmentOf(email))?.state).toBe("active");

      await page.getByRole("link", { name: "Delete my data…" }).click();
      await page.getByRole("button", { name: "Yes, delete my data" }).click();
      await page.waitForURL(`${session.live.url}/deleted`);
      expect(await subscriberRow(email)).toBeUndefined();

      // What made this worth a test: Chromium really sent Origin: null on these posts.
      expect(origins).toHaveLength(3);
      expect(origins.every((origin) => origin === "null")).toBe(true);
    } finally {
      await context.close();
    }
  });

  it("a subscriber changes their time zone and hour, the page says when the next lesson now arrives, and it arrives then", async () => {
    const context = await session.browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "Europe/Lisbon", javaScriptEnabled: false });
    const page = await context.newPage();
    const email = "mover@example.com";
    try {
      const manageUrl = await subscribe(page, email);
      await page.goto(manageUrl);
      // The current zone is preselected in the searchable field (no JavaScript: the signup was UTC).
      expect(await page.getByLabel("Time zone").inputValue()).toBe("UTC");
      expect(await page.getByLabel("Morning (08:00)").isChecked()).toBe(true);

      await page.getByLabel("Time zone").fill("Asia/Tokyo");
      await page.getByLabel("Evening (18:00)").check();
      await page.getByRole("button", { name: "Save my details" }).click();
      await page.waitForURL(/\?done=details$/);

      const enrollment = await enrollmentOf(email);
      const due = enrollment!.nextSendAt!;
      expect(formatLocal(due, "Asia/Tokyo")).toMatch(/ at 18:00 /);
      expect(due - enrollment!.lastSentAt!).toBeGreaterThanOrEqual(20 * HOUR);
      const notice = await page.getByRole("status").textContent();
      expect(notice).toContain(`Lesson 2 now arrives on ${formatLocal(due, "Asia/Tokyo")}`);
      expect(await subscriberRow(email)).toMatchObject({ timeZone: "Asia/Tokyo", sendHour: 18 });

      session.live.clock.advance(due - session.live.clock.now() - HOUR);
      await runDispatch(session.live.deps);
      expect(lessonEmails(email)).toHaveLength(1);
      session.live.clock.advance(HOUR);
      await runDispatch(session.live.deps);
      expect(lessonEmails(email).map((sent) => sent.subject)).toEqual([COURSE.lessons[0]!.subject, COURSE.lessons[1]!.subject]);
    } finally {
      await context.close();
    }
  });
});
