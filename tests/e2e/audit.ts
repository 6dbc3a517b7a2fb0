import { createRequire } from "node:module";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { expect } from "vitest";
import { SCREENSHOT_DIR } from "../support/browser";
import type { LiveApp } from "../support/live-app";
import { linkIn } from "../support/test-app";

/**
 * What every page must pass in a real browser: standards mode, no axe-core violation of impact
 * "serious" or "critical", and nothing that scrolls sideways. axe-core is injected from
 * node_modules (never a CDN); the browser context must be created with `bypassCSP: true`, since
 * our Content-Security-Policy rightly refuses injected scripts.
 */

const AXE_SOURCE = createRequire(import.meta.url).resolve("axe-core/axe.min.js");

export interface PageAudit {
  name: string;
  compatMode: string;
  overflow: number;
  violations: string[];
}

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

export async function auditPage(page: Page, name: string): Promise<PageAudit> {
  const layout = await page.evaluate(() => ({
    compatMode: document.compatMode,
    overflow: document.documentElement.scrollWidth - window.innerWidth,
  }));
  await page.addScriptTag({ path: AXE_SOURCE });
  const result = (await page.evaluate(() => (window as unknown as { axe: { run(): Promise<unknown> } }).axe.run())) as AxeResult;
  const violations = result.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.id} (${violation.impact}): ${violation.help} at ${violation.nodes.map((node) => JSON.stringify(node.target)).join(", ")}`);
  const width = page.viewportSize()?.width ?? 0;
  await page.screenshot({ path: join(SCREENSHOT_DIR, `audit-${width}-${name}.png`), fullPage: true });
  return { name, ...layout, violations };
}

/** One readable failure listing every page that broke a rule, rather than stopping at the first. */
export function expectAllPass(audits: PageAudit[]): void {
  const problems = audits.flatMap((audit) => [
    ...(audit.compatMode === "CSS1Compat" ? [] : [`${audit.name}: ${audit.compatMode} (quirks mode)`]),
    ...(audit.overflow > 0 ? [`${audit.name}: scrolls sideways by ${audit.overflow}px`] : []),
    ...audit.violations.map((violation) => `${audit.name}: ${violation}`),
  ]);
  expect(problems).toEqual([]);
}

/** Signs up on the landing page like a person (a few seconds over the form) and returns the confirmation email's link. */
export async function signUpInBrowser(live: LiveApp, page: Page, email: string, firstName: string): Promise<string> {
  await page.goto(`${live.url}/`);
  await page.getByLabel("Email address", { exact: true }).fill(email);
  await page.getByLabel("First name").fill(firstName);
  live.clock.advance(5_000);
  await page.getByRole("button", { name: "Send me the course" }).click();
  await page.waitForURL(`${live.url}/check-your-inbox`);
  const confirmation = live.resend.emailsTo(email).at(-1);
  expect(confirmation, "confirmation email").toBeDefined();
  return linkIn(confirmation!.text, `${live.url}/confirm?token=`);
}

/**
 * Opens the confirmation link. If the page asks for a press of a button first (a GET that changes
 * nothing, then a POST), the button is pressed; `beforePress` sees that page.
 */
export async function confirmInBrowser(page: Page, confirmUrl: string, beforePress?: () => Promise<void>): Promise<void> {
  await page.goto(confirmUrl);
  const button = page.locator("main form[method=post] button");
  if ((await button.count()) > 0) {
    await beforePress?.();
    await Promise.all([page.waitForNavigation(), button.first().click()]);
  }
}
