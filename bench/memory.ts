import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppDeps } from "../src/app-env";
import { loadConfig } from "../src/config";
import { applyMigrations } from "../src/db/migrate";
import { runDispatch } from "../src/drip/dispatch";
import { silentLogger } from "../src/lib/logger";
import { createResendMailer } from "../src/mail/resend";
import { openDatabase } from "../src/node-deps";
import { createSubscribers } from "../tests/support/factories";
import { startFakeResend } from "../tests/support/fake-resend";

/**
 * `npm run bench:memory`: the dispatcher's live heap while it sends to N and to 3N due subscribers.
 * Memory is bounded when the two peaks match. Runs with --expose-gc so each sample is live memory,
 * not garbage the collector has not reached yet.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error("run with node --expose-gc (npm run bench:memory does)");
const SIZES = [Number(process.argv[2] ?? 20_000), 3 * Number(process.argv[2] ?? 20_000)];

async function livePeakMb(n: number): Promise<{ before: number; peak: number }> {
  const dir = mkdtempSync(join(tmpdir(), "bench-memory-"));
  const fake = await startFakeResend({ record: false });
  try {
    const { db, client } = await openDatabase(`file:${join(dir, "m.db")}`);
    await applyMigrations(db);
    const now = Date.now();
    for (let i = 0; i < n; i += 10_000) await createSubscribers(db, Math.min(10_000, n - i), now);
    gc!();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sampler = setInterval(() => {
      gc!();
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 200);
    const config = loadConfig({ APP_URL: "https://course.example.com", APP_SECRET: "bench-secret-bench-secret-bench-secret-00", MAIL_POSTAL_ADDRESS: "1 Bench Street" });
    const deps: AppDeps = { db, mailer: createResendMailer({ apiKey: "re_bench", baseUrl: fake.url }), clock: () => now, config, logger: silentLogger };
    const report = await runDispatch(deps, { budget: { maxEmails: Number.MAX_SAFE_INTEGER, maxMs: 3_600_000 } });
    clearInterval(sampler);
    client.close();
    if (report.sent !== n) throw new Error(`sent ${report.sent} of ${n}`);
    return { before: before / 2 ** 20, peak: peak / 2 ** 20 };
  } finally {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\nbench:memory  node ${process.version}\n`);
for (const n of SIZES) {
  const { before, peak } = await livePeakMb(n);
  console.log(`${String(n).padStart(7)} due: live heap ${before.toFixed(0)} MB before the pass, ${peak.toFixed(0)} MB at most during it`);
}
