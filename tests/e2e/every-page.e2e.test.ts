import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSession } from "../support/browser-session";
import { runDispatch } from "../../src/drip/dispatch";
import { linkIn } from "../support/test-app";
import { auditPage, confirmInBrowser, expectAllPass, signUpInBrowser, type PageAudit } from "./audit";

/**
 * Every page a person can reach, in real Chromium at a phone width and a desktop width: standards
 * mode, no serious or critical axe-core violation, no sideways scroll. Pages are reached the way a
 * person reaches them: the landing form, the links in the emails, the buttons on the pages.
 * Run: npm run test:e2e
 */

const WIDTHS = [375, 1280] as const;

const session = browserSession();

async function visit(page: Page, audits: PageAudit[], name: string, url?: string): Promise<void> {
  if (url) await page.goto(url);
  audits.push(await auditPage(page, name));
}

describe("every page in a real browser", () => {
  it.each(WIDTHS)(
    "at %ipx: standards mode, no serious or critical axe-core violation, no sideways scroll",
    async (width) => {
      const context = await session.browser.newContext({ viewport: { width, height: 800 }, bypassCSP: true, timezoneId: "Europe/Lisbon" });
      const page = await context.newPage();
      const audits: PageAudit[] = [];
      const email = `audit-${width}@example.com`;
      try {
        await visit(page, audits, "landing", `${session.live.url}/`);
        await visit(page, audits, "course-list", `${session.live.url}/courses`);
        await visit(page, audits, "course-page", `${session.live.url}/courses/clear-skin`);
        await visit(page, audits, "starter-course-page", `${session.live.url}/courses/skin-food-starter`);
        await page.goto(`${session.live.url}/`);
        // The landing page again, with the errors a person sees after a mistake.
        session.live.clock.advance(5_000);
        await page.getByLabel("Email address", { exact: true }).fill("not-an-address");
        await page.getByRole("button", { name: "Send me the course" }).click();
        await page.waitForLoadState();
        await visit(page, audits, "landing-with-errors");

        const confirmUrl = await signUpInBrowser(session.live, page, email, "Maya");
        await visit(page, audits, "check-your-inbox");
        await confirmInBrowser(page, confirmUrl, () => visit(page, audits, "confirm-before-press"));
        await visit(page, audits, "confirmed");

        await runDispatch(session.live.deps);
        const lesson = session.live.resend.emailsTo(email).find((sent) => sent.tags?.some((tag) => tag.value === "lesson"));
        expect(lesson, "lesson 1").toBeDefined();
        await visit(page, audits, "lesson-web-archive", linkIn(lesson!.text, `${session.live.url}/lessons/`));
        await visit(page, audits, "lesson-feedback", linkIn(lesson!.text, `${session.live.url}/feedback/`));
        await expect.poll(() => page.getByRole("status").textContent()).toBe("Your answer is saved. Thank you!");
        await page.getByLabel("What was most useful? (optional)").fill("Clear and kind.");
        await Promise.all([page.waitForURL(/\?saved=comment$/), page.getByRole("button", { name: "Send comment" }).click()]);
        await visit(page, audits, "lesson-feedback-comment-saved");

        const manageUrl = linkIn(lesson!.text, `${session.live.url}/manage/`);
        await visit(page, audits, "manage", manageUrl);
        await page.getByLabel("Time zone").fill("Nowhere/Atlantis");
        await page.getByRole("button", { name: "Save my details" }).click();
        await page.waitForLoadState();
        await visit(page, audits, "manage-details-error");
        await page.getByRole("button", { name: "Pause until I resume" }).click();
        await page.waitForURL(/\?done=paused$/);
        await visit(page, audits, "manage-paused");
        await visit(page, audits, "unsubscribe", linkIn(lesson!.text, `${session.live.url}/unsubscribe/`));
        await page.getByRole("button", { name: "Yes, unsubscribe me" }).click();
        await page.waitForLoadState();
        await visit(page, audits, "unsubscribed");
        await visit(page, audits, "manage-unsubscribed", manageUrl);
        await visit(page, audits, "delete-confirm", `${manageUrl}/delete`);
        await page.getByRole("button", { name: "Yes, delete my data" }).click();
        await page.waitForURL(`${session.live.url}/deleted`);
        await visit(page, audits, "deleted");
        await visit(page, audits, "broken-link", manageUrl);
        await visit(page, audits, "not-found", `${session.live.url}/no-such-page`);

        expect(audits.length).toBeGreaterThanOrEqual(17);
        expectAllPass(audits);
      } finally {
        await context.close();
      }
    },
    120_000,
  );
});
