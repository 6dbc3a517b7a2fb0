import { join } from "node:path";
import type { Browser } from "playwright-core";
import { createElement } from "react";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import ConfirmSubscriptionEmail from "../../emails/confirm-subscription";
import { lessonPreviewProps } from "../../emails/_components/lesson-props";
import { lessonComponent } from "../../emails/_build/registry";
import { COURSE } from "../../src/course";
import { renderEmail } from "../../src/course/render";
import { launchChromium, SCREENSHOT_DIR } from "../support/browser";

/**
 * Opens every email in real Chromium at a phone width and a desktop width, checks nothing
 * overflows sideways, and saves screenshots (light and dark) for a person to look at.
 * Run: npm run test:e2e
 */

const WIDTHS = [320, 375, 1280] as const;

const EMAILS = [
  ...COURSE.lessons.map((lesson) => ({
    name: `lesson-${lesson.number}`,
    element: createElement(lessonComponent(COURSE.slug, lesson.number), lessonPreviewProps),
  })),
  {
    name: "confirm-subscription",
    element: createElement(ConfirmSubscriptionEmail, ConfirmSubscriptionEmail.PreviewProps),
  },
];

let browser: Browser;

beforeAll(async () => {
  browser = await launchChromium();
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

describe.each(EMAILS)("$name in a real browser", ({ name, element }) => {
  it.each(WIDTHS)(
    "fits a %ipx-wide window without scrolling sideways, in light and dark mode",
    async (width) => {
      const { html } = await renderEmail(element);
      const page = await browser.newPage({ viewport: { width, height: 800 } });
      try {
        for (const colorScheme of ["light", "dark"] as const) {
          await page.emulateMedia({ colorScheme });
          // No network: the emails have no images or remote resources, so "load" is enough.
          await page.setContent(html, { waitUntil: "load" });
          const { scrollWidth, innerWidth } = await page.evaluate(() => ({
            scrollWidth: document.documentElement.scrollWidth,
            innerWidth: window.innerWidth,
          }));
          expect(scrollWidth, `${name} at ${width}px (${colorScheme})`).toBeLessThanOrEqual(innerWidth);
          const suffix = colorScheme === "dark" ? "-dark" : "";
          await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}-${width}${suffix}.png`), fullPage: true });
        }
      } finally {
        await page.close();
      }
    },
    30_000,
  );
});
