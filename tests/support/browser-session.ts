import type { Browser } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { launchChromium } from "./browser";
import { startLiveApp, type LiveApp } from "./live-app";

/** What a browser test reads: the file's Chromium and the current test's live app. */
export interface BrowserSession {
  browser: Browser;
  live: LiveApp;
}

/**
 * Registers the hooks every browser test file needs: one Chromium per file (started within 60 s),
 * and a fresh live app (its own database and fake Resend) per test, closed after it.
 */
export function browserSession(options: { chromiumArgs?: string[]; app?: Parameters<typeof startLiveApp>[0] } = {}): BrowserSession {
  const session = {} as BrowserSession;
  beforeAll(async () => {
    session.browser = await launchChromium(options.chromiumArgs);
  }, 60_000);
  afterAll(async () => session.browser?.close());
  beforeEach(async () => {
    session.live = await startLiveApp(options.app);
  });
  afterEach(async () => session.live?.close());
  return session;
}
