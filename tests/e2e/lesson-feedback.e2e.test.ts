import { describe, expect, it } from "vitest";
import { browserSession } from "../support/browser-session";
import { COURSE_SLUG } from "../../src/course";
import { lessonComments, lessonRatings } from "../../src/db/feedback";
import { runDispatch } from "../../src/drip/dispatch";
import type { CapturedEmail } from "../support/fake-resend";
import { createSubscriber } from "../support/factories";
import { linkIn } from "../support/test-app";
import { auditPage, expectAllPass } from "./audit";

/**
 * "Was this lesson helpful?" in real Chromium: the reader clicks "Yes" in lesson 2 as captured by
 * the fake Resend, the page records the vote by itself, and a comment follows. Without scripts,
 * opening the link records nothing until the button is pressed. Run: npm run test:e2e
 */

const DAY_MS = 24 * 60 * 60 * 1000;

const session = browserSession();

/** A reader who has received lessons 1 and 2; returns lesson 2 as the fake Resend captured it. */
async function readerWithLesson2(): Promise<CapturedEmail> {
  const subscriber = await createSubscriber(session.live.db, session.live.clock.now());
  await runDispatch(session.live.deps);
  session.live.clock.advance(4 * DAY_MS);
  await runDispatch(session.live.deps);
  const lesson2 = session.live.resend.emailsTo(subscriber.email).find((email) => email.tags?.some((tag) => tag.name === "lesson" && tag.value === "2"));
  expect(lesson2, "lesson 2").toBeDefined();
  return lesson2!;
}

describe("lesson feedback in a real browser", () => {
  it("clicking Yes in lesson 2 records the vote once, and a comment is saved and shown as typed", async () => {
    const lesson2 = await readerWithLesson2();
    const context = await session.browser.newContext({ viewport: { width: 375, height: 800 } });
    const inbox = await context.newPage();
    try {
      // The email as a mail client shows it; the reader clicks "Yes", which opens a new tab.
      await inbox.setContent(lesson2.html, { waitUntil: "load" });
      const [page] = await Promise.all([context.waitForEvent("page"), inbox.getByRole("link", { name: "Yes", exact: true }).click()]);
      await page.waitForURL(/\/feedback\/[^/]+\/helpful$/);
      await expect.poll(() => page.getByRole("status").textContent()).toBe("Your answer is saved. Thank you!");
      expect(await page.getByRole("button", { name: "Save my answer" }).isVisible()).toBe(false);
      expect(await lessonRatings(session.live.db, COURSE_SLUG)).toEqual([{ lesson: 2, helpful: 1, notHelpful: 0, comments: 0 }]);

      const comment = "The journal idea <b>really</b> helped & I'll keep it up.";
      await page.getByLabel("What was most useful? (optional)").fill(comment);
      await Promise.all([page.waitForURL(/\?saved=comment$/), page.getByRole("button", { name: "Send comment" }).click()]);
      await expect.poll(() => page.getByRole("status").textContent()).toBe("Your comment is saved. Thank you!");
      expect(await page.locator("blockquote.comment").textContent()).toBe(comment);
      expect(await lessonRatings(session.live.db, COURSE_SLUG)).toEqual([{ lesson: 2, helpful: 1, notHelpful: 0, comments: 1 }]);
      expect((await lessonComments(session.live.db, COURSE_SLUG)).map((c) => c.comment)).toEqual([comment]);
    } finally {
      await context.close();
    }
  });

  it("without scripts, opening the link records nothing; the visible button records the vote", async () => {
    const lesson2 = await readerWithLesson2();
    const context = await session.browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    try {
      await page.goto(lesson2.text.match(/Not really \((\S+)\)/)![1]!);
      expect(await lessonRatings(session.live.db, COURSE_SLUG)).toEqual([]);
      await Promise.all([page.waitForURL(/\?saved=vote$/), page.getByRole("button", { name: "Save my answer" }).click()]);
      expect(await page.getByRole("status").textContent()).toBe("Your answer is saved. Thank you!");
      expect(await lessonRatings(session.live.db, COURSE_SLUG)).toEqual([{ lesson: 2, helpful: 0, notHelpful: 1, comments: 0 }]);
    } finally {
      await context.close();
    }
  });

  it("at 320px the feedback page is in standards mode, passes axe-core and does not scroll sideways", async () => {
    const lesson2 = await readerWithLesson2();
    const context = await session.browser.newContext({ viewport: { width: 320, height: 640 }, bypassCSP: true });
    const page = await context.newPage();
    try {
      await page.goto(linkIn(lesson2.text, `${session.live.url}/feedback/`));
      await expect.poll(() => page.getByRole("status").textContent()).toBe("Your answer is saved. Thank you!");
      const audits = [await auditPage(page, "feedback-320")];
      await page.getByLabel("What was most useful? (optional)").fill("A long comment ".repeat(40));
      await Promise.all([page.waitForURL(/\?saved=comment$/), page.getByRole("button", { name: "Send comment" }).click()]);
      audits.push(await auditPage(page, "feedback-comment-saved-320"));
      expectAllPass(audits);
    } finally {
      await context.close();
    }
  });
});
