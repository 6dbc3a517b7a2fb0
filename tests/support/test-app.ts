import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../../src/app";
import type { AppDeps } from "../../src/app-env";
import { loadConfig, type Config } from "../../src/config";
import type { CourseRegistry } from "../../src/course/registry";
import type { Db } from "../../src/db/client";
import { openDatabase } from "../../src/node-deps";
import { applyMigrations } from "../../src/db/migrate";
import { silentLogger } from "../../src/lib/logger";
import { createResendMailer } from "../../src/mail/resend";
import { startFakeResend, type FakeResend } from "./fake-resend";

/** A fresh libSQL database file with the migrations applied; removed by `close()`. */
export async function createTestDb(): Promise<{ db: Db; url: string; close(): void }> {
  const dir = mkdtempSync(join(tmpdir(), "course-test-"));
  const url = `file:${join(dir, "test.db")}`;
  const { db, client } = await openDatabase(url);
  await applyMigrations(db);
  return {
    db,
    url,
    close() {
      client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A controllable clock: starts at `start`, moves only when told. */
export function createTestClock(start = Date.parse("2026-03-02T12:00:00Z")) {
  let now = start;
  return {
    now: () => now,
    set(instant: number | string) {
      now = typeof instant === "string" ? Date.parse(instant) : instant;
    },
    advance(ms: number) {
      now += ms;
    },
  };
}

export const TEST_APP_URL = "http://course.test";

export function testConfig(overrides: Record<string, string> = {}, resendUrl?: string): Config {
  return loadConfig({
    APP_URL: TEST_APP_URL,
    APP_SECRET: "test-secret-test-secret-test-secret-0123",
    MAIL_POSTAL_ADDRESS: "Test Practice, 1 Test Lane, Testville",
    RESEND_API_KEY: "re_test_key",
    RESEND_BASE_URL: resendUrl,
    ...overrides,
  });
}

export interface TestContext {
  app: ReturnType<typeof createApp>;
  deps: AppDeps;
  db: Db;
  resend: FakeResend;
  clock: ReturnType<typeof createTestClock>;
  config: Config;
  close(): Promise<void>;
}

/**
 * The real app over a fresh database, sending through the real Resend SDK to a fake Resend server
 * on loopback. One per test file (or per test, for full isolation).
 */
export async function createTestContext(options: { env?: Record<string, string>; timeoutMs?: number; courses?: CourseRegistry } = {}): Promise<TestContext> {
  const resend = await startFakeResend();
  const database = await createTestDb();
  const clock = createTestClock();
  const config = testConfig(options.env, resend.url);
  // Generous by default, so a loaded machine never turns a slow answer into a timeout; a test of
  // timeouts passes its own short one with a fake that never answers.
  const mailer = createResendMailer({ apiKey: "re_test_key", baseUrl: resend.url, timeoutMs: options.timeoutMs ?? 30_000 });
  const deps: AppDeps = { db: database.db, mailer, clock: clock.now, config, logger: silentLogger, ...(options.courses && { courses: options.courses }) };
  return {
    app: createApp(deps),
    deps,
    db: database.db,
    resend,
    clock,
    config,
    async close() {
      await resend.close();
      database.close();
    },
  };
}

/** The first link in an email's plain text that starts with `prefix`, as a reader would find it. */
export function linkIn(text: string, prefix: string): string {
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = text.match(new RegExp(`${escaped}[^\\s\\])>"]*`));
  if (!match) throw new Error(`No link starting with ${prefix} in:\n${text}`);
  return match[0];
}

/** Posts a form the way a browser does. */
export function form(fields: Record<string, string>): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  };
}
