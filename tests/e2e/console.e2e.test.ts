import { eq } from "drizzle-orm";
import { readFile } from "node:fs/promises";
import type { BrowserContext, Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { browserSession } from "../support/browser-session";
import { pauseUntilResumed, resume } from "../../src/db/controls";
import { enrollments, subscribers, webhookEndpoints } from "../../src/db/schema";
import { runWebhookDeliveries } from "../../src/outbound/deliver";
import { runDispatch } from "../../src/drip/dispatch";
import { createSubscriber } from "../support/factories";
import { linkIn } from "../support/test-app";
import { startReceiver } from "../api/receiver";
import { auditPage, expectAllPass, type PageAudit } from "./audit";

/**
 * The operator console in real Chromium against the real app over HTTP: sign in through the mailed
 * link (from the fake Resend), read the funnel, find and pause a subscriber, send a test lesson,
 * import a CSV with good and bad rows (the page's own script drives the progress bar under the
 * strict CSP) and export the list again. A second test visits every console page with axe-core.
 * Run: npm run test:e2e
 */

const OPERATOR = "ops@example.com";
const session = browserSession({ app: { env: { ADMIN_EMAILS: OPERATOR } } });

/** Asks for a link on the login page, opens it from the captured email, presses Sign in. */
async function signInInBrowser(page: Page, audits?: PageAudit[]): Promise<void> {
  await page.goto(`${session.live.url}/admin`);
  await expect.poll(() => page.url()).toBe(`${session.live.url}/admin/login`);
  if (audits) audits.push(await auditPage(page, "console-login"));
  await page.getByLabel("Your email address").fill(OPERATOR);
  await page.getByRole("button", { name: "Email me a sign-in link" }).click();
  await page.getByText("If that address belongs to an operator").waitFor();
  if (audits) audits.push(await auditPage(page, "console-login-sent"));
  const mail = session.live.resend.emailsTo(OPERATOR).at(-1)!;
  await page.goto(linkIn(mail.text, `${session.live.url}/admin/sign-in?token=`));
  if (audits) audits.push(await auditPage(page, "console-sign-in"));
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Lesson funnel" }).waitFor();
}

const CSV = ["email,first name,time zone", "new.one@example.com,Nia,Europe/Paris", "broken-address,Bob,UTC", "new.two@example.com,Ola,Nowhere/Land"].join("\n");

async function importInBrowser(page: Page, audits?: PageAudit[]): Promise<void> {
  await page.getByRole("link", { name: "Import", exact: true }).click();
  if (audits) audits.push(await auditPage(page, "console-import-upload"));
  await page.getByLabel("CSV file").setInputFiles({ name: "list.csv", mimeType: "text/csv", buffer: Buffer.from(CSV) });
  await page.getByRole("button", { name: "Upload" }).click();
  await page.getByRole("heading", { name: "Map the columns" }).waitFor();
  if (audits) audits.push(await auditPage(page, "console-import-map"));
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await page.getByRole("heading", { name: "Import finished" }).waitFor();
  if (audits) audits.push(await auditPage(page, "console-import-report"));
}

describe("operator console in Chromium", () => {
  it("signs in by mailed link, reads the funnel, pauses a subscriber, sends a test, imports and exports", async () => {
    const ana = await createSubscriber(session.live.db, session.live.clock.now() - 60_000, { email: "ana@example.com", firstName: "Ana" });
    await createSubscriber(session.live.db, session.live.clock.now() - 60_000);
    await runDispatch(session.live.deps);
    const context: BrowserContext = await session.browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    const page = await context.newPage();
    try {
      await signInInBrowser(page);
      const lesson1 = page.locator("#funnel-table tbody tr").first();
      await expect.poll(() => lesson1.locator("td").first().textContent()).toBe("2");

      await page.getByRole("link", { name: "Subscribers", exact: true }).click();
      await page.getByLabel("Email address or subscriber id").fill(" Ana@Example.com ");
      await page.getByRole("button", { name: "Find" }).click();
      await page.getByRole("heading", { name: "Subscriber" }).waitFor();
      await page.getByRole("button", { name: "Pause" }).click();
      await page.getByText("Paused: Done.").waitFor();
      expect((await session.live.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, ana.id) }))?.state).toBe("paused");

      await page.getByRole("link", { name: "Dashboard", exact: true }).click();
      await page.getByLabel("Lesson", { exact: true }).selectOption("2");
      await page.getByRole("button", { name: "Send me a test" }).click();
      await page.getByText("Test of lesson 2 sent to your address.").waitFor();
      expect(session.live.resend.emailsTo(OPERATOR).some((e) => e.subject.startsWith("[Test] Lesson 2"))).toBe(true);

      await importInBrowser(page);
      await expect.poll(() => page.locator("#import-report").textContent()).toMatch(/Email: .*Time zone: "Nowhere\/Land"/s);
      expect((await session.live.db.query.subscribers.findFirst({ where: eq(subscribers.email, "new.one@example.com") }))?.status).toBe("pending");

      await page.getByRole("link", { name: "Dashboard", exact: true }).click();
      const download = page.waitForEvent("download");
      await page.getByRole("link", { name: "Export subscribers (CSV)" }).click();
      const csv = await readFile((await (await download).path())!, "utf8");
      expect(csv.split("\n")[0]).toBe("email,first_name,time_zone,source,confirmed_at,state,lesson");
      expect(csv).toContain("new.one@example.com,Nia,Europe/Paris,import,,pending,0");
      expect(csv).toMatch(/ana@example\.com,Ana,UTC,form,[^,]+,paused,1/);
    } finally {
      await context.close();
    }
  });

  it("a reader clicks Yes in lesson 2 and adds a comment; the operator sees the vote and the comment on the dashboard", async () => {
    const reader = await createSubscriber(session.live.db, session.live.clock.now() - 3 * 24 * 60 * 60_000, { email: "reader@example.com", firstName: "Rae" });
    await runDispatch(session.live.deps);
    session.live.clock.advance(3 * 24 * 60 * 60_000);
    await runDispatch(session.live.deps);
    const lesson2 = session.live.resend.emailsTo(reader.email).at(-1)!;
    expect(lesson2.subject).toContain("Three signs");
    const context: BrowserContext = await session.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    try {
      await page.goto(linkIn(lesson2.text, `${session.live.url}/feedback/`));
      await expect.poll(() => page.getByRole("status").textContent()).toBe("Your answer is saved. Thank you!");
      await page.getByLabel("What was most useful? (optional)").fill("The food journal idea helped");
      await Promise.all([page.waitForURL(/\?saved=comment$/), page.getByRole("button", { name: "Send comment" }).click()]);

      await signInInBrowser(page);
      const row2 = page.locator("#funnel-table tbody tr").nth(1);
      // Sent, Delivered, Opened, Clicked, Rated helpful, Not helpful, Comments, …
      await expect.poll(async () => (await row2.locator("td").allTextContents()).slice(4, 7)).toEqual(["1", "0", "1"]);
      await page.getByText("The food journal idea helped").waitFor();
    } finally {
      await context.close();
    }
  });

  it("creates an API key that works with fetch until it is revoked, and registers a webhook endpoint that gets a signed test event", async () => {
    const receiver = await startReceiver();
    const context: BrowserContext = await session.browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    const courses = (key: string) => fetch(`${session.live.url}/api/v1/courses`, { headers: { authorization: `Bearer ${key}` } });
    try {
      await signInInBrowser(page);
      await page.getByRole("link", { name: "API keys", exact: true }).click();
      await page.getByLabel("Name").fill("Website signup form");
      await page.getByLabel(/^Write/).check();
      await page.getByRole("button", { name: "Create key" }).click();
      await page.getByText("Copy it now: it won't be shown again.").waitFor();
      const key = (await page.locator("#new-key").textContent())!;
      expect((await courses(key)).status).toBe(200);
      await page.getByRole("link", { name: "Back to API keys" }).click();
      await expect.poll(() => page.locator("#keys-table tbody tr").first().textContent()).toContain("Website signup form");
      await page.getByRole("button", { name: /^Revoke now: the key Website signup form/ }).click();
      await page.getByText("The key is revoked").waitFor();
      expect((await courses(key)).status).toBe(401);

      await page.getByRole("link", { name: "Webhooks", exact: true }).click();
      await page.getByLabel("URL", { exact: true }).fill(receiver.url);
      await page.getByRole("button", { name: "Register endpoint" }).click();
      await page.getByText("Copy the signing secret now").waitFor();
      receiver.useSecret((await page.locator("#new-secret").textContent())!);
      await page.getByRole("link", { name: "Open the endpoint" }).click();
      await page.getByRole("button", { name: "Send test event" }).click();
      await expect.poll(() => page.locator("#test-result").textContent()).toContain("Test event delivered: HTTP 200");
      expect(receiver.refused).toEqual([]);
      expect(receiver.accepted.map((r) => r.event.type)).toEqual(["webhook.test"]);
      expect(receiver.accepted[0]!.headers["webhook-signature"]).toMatch(/^v1,/);
    } finally {
      await context.close();
      await receiver.close();
    }
  });

  it("every console page passes axe-core (no serious or critical violations) at phone and desktop widths", async () => {
    const ana = await createSubscriber(session.live.db, session.live.clock.now() - 60_000, { email: "ana@example.com" });
    await runDispatch(session.live.deps);
    const audits: PageAudit[] = [];
    for (const width of [375, 1280]) {
      const context = await session.browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
      const page = await context.newPage();
      try {
        await signInInBrowser(page, audits);
        audits.push(await auditPage(page, "console-dashboard"));
        await page.goto(`${session.live.url}/admin/subscribers`);
        audits.push(await auditPage(page, "console-find"));
        await page.getByLabel("Email address or subscriber id").fill("ana@example.com");
        await page.getByRole("button", { name: "Find" }).click();
        await page.getByRole("heading", { name: "Subscriber" }).waitFor();
        audits.push(await auditPage(page, "console-subscriber"));
        await page.goto(`${session.live.url}/admin/mail`);
        audits.push(await auditPage(page, "console-failed-mail"));
        await page.goto(`${session.live.url}/admin/keys`);
        audits.push(await auditPage(page, "console-keys"));
        await page.getByLabel("Name").fill(`Key at ${width}px`);
        await page.getByRole("button", { name: "Create key" }).click();
        await page.locator("#new-key").waitFor();
        audits.push(await auditPage(page, "console-key-created"));
        await page.goto(`${session.live.url}/admin/webhooks`);
        audits.push(await auditPage(page, "console-webhooks"));
        await page.getByLabel("URL", { exact: true }).fill(`http://127.0.0.1:9/hook-${width}`);
        await page.getByRole("button", { name: "Register endpoint" }).click();
        await page.locator("#new-secret").waitFor();
        audits.push(await auditPage(page, "console-webhook-registered"));
        // An attempt (nothing listens on port 9) and the flag of a disabled endpoint, so the audit
        // sees the attempts table and the warning as operators will.
        await pauseUntilResumed(session.live.db, ana.id, { now: session.live.clock.now(), sendHour: session.live.config.sendHour });
        await resume(session.live.db, ana.id, { now: session.live.clock.now(), sendHour: session.live.config.sendHour });
        await runWebhookDeliveries(session.live.deps);
        await session.live.db.update(webhookEndpoints).set({ disabledAt: session.live.clock.now(), disabledReason: "Deliveries failed for 24 hours" });
        await page.getByRole("link", { name: "Open the endpoint" }).click();
        await page.locator("#attempts-table").waitFor();
        audits.push(await auditPage(page, "console-webhook-endpoint"));
        await page.goto(`${session.live.url}/admin/webhooks`);
        await page.getByText("disabled after failing for a day").waitFor();
        audits.push(await auditPage(page, "console-webhooks-flagged"));
        await page.goto(`${session.live.url}/admin/test-link`);
        audits.push(await auditPage(page, "console-test-link"));
        await page.goto(`${session.live.url}/admin`);
        await importInBrowser(page, audits);
      } finally {
        await context.close();
      }
    }
    expectAllPass(audits);
  });
});
