import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { AppDeps } from "../src/app-env";
import { runHousekeeping, UNCONFIRMED_SIGNUP_RETENTION_MS } from "../src/db/retention";
import { runDispatch } from "../src/drip/dispatch";
import { silentLogger } from "../src/lib/logger";
import { createNodeDeps } from "../src/node-deps";
import { startFakeResend, type FakeResend } from "./support/fake-resend";
import { signUp } from "./support/signup";
import { createTestClock, linkIn, TEST_APP_URL, testConfig, type TestContext } from "./support/test-app";

/**
 * "Delete my data" on Node, down to the bytes on disk: the embedded database file, its WAL and its
 * shared-memory index, wired exactly as `npm start` wires them (createNodeDeps).
 */

const EMAIL = "erase-me.person@example.com";
const NAME = "Philippa-Quennell";

let dir: string;
let resend: FakeResend;
let t: TestContext;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "course-erase-"));
  resend = await startFakeResend();
  const clock = createTestClock();
  const config = testConfig({ DATABASE_URL: `file:${join(dir, "course.db")}` }, resend.url);
  const deps: AppDeps = { ...(await createNodeDeps(config, silentLogger)), clock: clock.now };
  t = { app: createApp(deps), deps, db: deps.db, resend, clock, config, close: async () => {} };
});
afterEach(async () => {
  await resend.close();
  rmSync(dir, { recursive: true, force: true });
});

const path = (url: string) => url.replace(TEST_APP_URL, "");

/** Submits the first form on a page as a browser would: its action and every hidden field. */
async function submitFormOn(pageUrl: string) {
  const html = await (await t.app.request(pageUrl)).text();
  const form = html.match(/<form[^>]*method="post"[^>]*>[\s\S]*?<\/form>/i)?.[0];
  if (!form) throw new Error(`No POST form on ${pageUrl}`);
  const action = form.match(/action="([^"]+)"/)![1]!.replaceAll("&amp;", "&");
  const fields = Object.fromEntries(
    [...form.matchAll(/<input[^>]*type="hidden"[^>]*>/g)].map((input) => [input[0].match(/name="([^"]+)"/)![1]!, input[0].match(/value="([^"]*)"/)?.[1] ?? ""]),
  );
  return t.app.request(action, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: TEST_APP_URL },
    body: new URLSearchParams(fields).toString(),
  });
}

/** How many times `needle` occurs in the database, WAL and shared-memory files, as raw bytes. */
function tracesOnDisk(needle: string): Record<string, number> {
  const found: Record<string, number> = {};
  for (const suffix of ["", "-wal", "-shm", "-journal"]) {
    const file = join(dir, `course.db${suffix}`);
    if (!existsSync(file)) continue;
    const bytes = readFileSync(file);
    let count = 0;
    for (const encoded of [Buffer.from(needle, "utf8"), Buffer.from(needle.toLowerCase(), "utf8")]) {
      for (let at = bytes.indexOf(encoded); at !== -1; at = bytes.indexOf(encoded, at + 1)) count++;
    }
    found[`course.db${suffix}`] = count;
  }
  return found;
}

const total = (traces: Record<string, number>) => Object.values(traces).reduce((a, b) => a + b, 0);

describe("delete my data on the embedded database", () => {
  it("leaves neither the address nor the name in the database file, its WAL or its shared memory", async () => {
    await signUp(t, { email: EMAIL, firstName: NAME, timeZone: "Europe/Vienna" });
    const confirmation = resend.emailsTo(EMAIL)[0]!;
    const confirmUrl = path(linkIn(confirmation.text, `${TEST_APP_URL}/confirm?token=`));
    const confirmPage = await t.app.request(confirmUrl);
    expect(confirmPage.status).toBe(200);
    // Where the link only shows a "Confirm" button (mail scanners fetch links), press it.
    if (/<form[^>]*method="post"/i.test(await confirmPage.text())) await submitFormOn(confirmUrl);
    expect((await runDispatch(t.deps)).sent).toBe(1);
    const lesson = resend.emailsTo(EMAIL)[1]!;
    expect(lesson.text).toContain(NAME);
    // The data really is on disk before the delete, so the search below can find it.
    expect(total(tracesOnDisk(EMAIL)) + total(tracesOnDisk(NAME))).toBeGreaterThan(0);

    const deleted = await submitFormOn(`${path(linkIn(lesson.text, `${TEST_APP_URL}/manage/`))}/delete`);
    expect(deleted.status).toBe(303);
    expect(deleted.headers.get("location")).toBe("/deleted");

    expect(tracesOnDisk(EMAIL)).toEqual(Object.fromEntries(Object.keys(tracesOnDisk(EMAIL)).map((file) => [file, 0])));
    expect(total(tracesOnDisk(NAME))).toBe(0);
  });
});

describe("forgetting an unconfirmed signup on the embedded database", () => {
  it("leaves neither the address nor the name on disk once housekeeping has forgotten it", async () => {
    await signUp(t, { email: EMAIL, firstName: NAME, timeZone: "Europe/Vienna" });
    expect(total(tracesOnDisk(EMAIL)) + total(tracesOnDisk(NAME))).toBeGreaterThan(0);

    t.clock.advance(UNCONFIRMED_SIGNUP_RETENTION_MS);
    await runHousekeeping(t.deps);

    expect(total(tracesOnDisk(EMAIL))).toBe(0);
    expect(total(tracesOnDisk(NAME))).toBe(0);
  });
});
