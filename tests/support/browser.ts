import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";

/** Where browser tests save screenshots (kept as test artifacts; ignored by git). */
export const SCREENSHOT_DIR = join(process.cwd(), "test-artifacts", "screenshots");

/**
 * Debian's Chromium (or CHROMIUM_PATH), headless. The network flags keep it from calling home:
 * this machine has no internet, and those connections would only fail and slow it down.
 * `extraArgs`, e.g. `--host-resolver-rules=MAP course.test 127.0.0.1` to serve under a host name.
 */
export async function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}
