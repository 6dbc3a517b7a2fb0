import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { AppDeps } from "../src/app-env";
import { loadConfig } from "../src/config";
import { lessonByNumber } from "../src/course";
import { applyMigrations } from "../src/db/migrate";
import { runDispatch } from "../src/drip/dispatch";
import { lessonTemplate, personalise } from "../src/drip/lesson-email";
import { silentLogger } from "../src/lib/logger";
import { MAX_BATCH, type OutgoingEmail } from "../src/mail/mailer";
import { createResendMailer } from "../src/mail/resend";
import { openDatabase } from "../src/node-deps";
import { createSubscribers } from "../tests/support/factories";

/**
 * `npm run bench:dispatch [-- N [latencyMs]]`: the full dispatch pipeline (claim, delivery rows, render once,
 * personalise, batch send, advance) against a baseline that only posts pre-rendered batches to
 * the same fake Resend server. The fake runs in its own process so its CPU is not counted. With
 * latency 0 (the default) the fake answers at once, the worst case for us: every microsecond we
 * spend shows; a latency like a real API's (`-- 100000 80`) shows what an operator would see.
 */
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 100_000);
const LATENCY_MS = Number(process.argv[3] ?? process.env.BENCH_LATENCY_MS ?? 0);

async function startFake(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/support/fake-resend-server.ts"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, FAKE_RESEND_LATENCY_MS: String(LATENCY_MS) },
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`fake Resend exited with ${code}`)));
  });
  return { url: line.trim(), stop: () => child.kill("SIGTERM") };
}

interface Figures {
  emails: number;
  seconds: number;
  perSecond: number;
  cpuMicrosPerEmail: number;
  peakRssMb: number;
  /** RSS when the run started: the peak less this is what the run itself added. */
  startRssMb: number;
}

async function measure(run: () => Promise<number>): Promise<Figures> {
  const start = process.memoryUsage().rss;
  let peak = start;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const cpu = process.cpuUsage();
  const started = performance.now();
  const emails = await run();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return {
    emails,
    seconds,
    perSecond: emails / seconds,
    cpuMicrosPerEmail: (used.user + used.system) / emails,
    peakRssMb: peak / 1024 / 1024,
    startRssMb: start / 1024 / 1024,
  };
}

const fake = await startFake();
const dir = mkdtempSync(join(tmpdir(), "bench-dispatch-"));
try {
  const config = loadConfig({ APP_URL: "https://course.example.com", APP_SECRET: "bench-secret-bench-secret-bench-secret-00", MAIL_POSTAL_ADDRESS: "1 Bench Street" });
  const mailer = createResendMailer({ apiKey: "re_bench", baseUrl: fake.url });

  // Baseline: the same number of emails, rendered once up front, posted in batches of 100.
  const lesson = lessonByNumber(1)!;
  const rendered = personalise(lessonTemplate(lesson, config), {
    firstName: "Reader",
    manageUrl: `${config.appUrl}/manage/x`,
    unsubscribeUrl: `${config.appUrl}/unsubscribe/x`,
    viewInBrowserUrl: `${config.appUrl}/lessons/x`,
    helpfulUrl: `${config.appUrl}/feedback/x/helpful`,
    notHelpfulUrl: `${config.appUrl}/feedback/x/not-helpful`,
  });
  const email = (i: number): OutgoingEmail => ({ to: `bulk${i}@example.com`, from: config.mailFrom, subject: lesson.subject, ...rendered });
  const baseline = await measure(async () => {
    for (let i = 0; i < N; i += MAX_BATCH) {
      const batch = Array.from({ length: Math.min(MAX_BATCH, N - i) }, (_, j) => email(i + j));
      const result = await mailer.sendBatch(batch, { idempotencyKey: `baseline-${i}` });
      if (!result.ok) throw new Error(`baseline send failed: ${result.error.message}`);
    }
    return N;
  });

  // Pipeline: N subscribers, all due, in a fresh libSQL file.
  const { db, client } = await openDatabase(`file:${join(dir, "bench.db")}`);
  await applyMigrations(db);
  const now = Date.now();
  // In chunks, so seeding 100,000 rows does not itself inflate the process before the pass.
  for (let i = 0; i < N; i += 10_000) await createSubscribers(db, Math.min(10_000, N - i), now);
  const deps: AppDeps = { db, mailer, clock: () => now, config, logger: silentLogger };
  const pipeline = await measure(async () => {
    const report = await runDispatch(deps, { budget: { maxEmails: Number.MAX_SAFE_INTEGER, maxMs: 3_600_000 } });
    if (report.sent !== N) throw new Error(`pipeline sent ${report.sent} of ${N}`);
    return report.sent;
  });
  client.close();

  const row = (name: string, f: Figures) =>
    `${name.padEnd(10)} ${String(f.emails).padStart(8)} ${f.seconds.toFixed(2).padStart(8)} ${f.perSecond.toFixed(0).padStart(10)} ${f.cpuMicrosPerEmail.toFixed(0).padStart(12)} ${f.peakRssMb.toFixed(0).padStart(10)} ${f.startRssMb.toFixed(0).padStart(12)}`;
  console.log(`\nbench:dispatch  N=${N}  provider latency ${LATENCY_MS} ms  node ${process.version}\n`);
  console.log(`${"".padEnd(10)} ${"emails".padStart(8)} ${"seconds".padStart(8)} ${"emails/s".padStart(10)} ${"CPU µs/email".padStart(12)} ${"peak RSS MB".padStart(10)} ${"RSS at start".padStart(12)}`);
  console.log(row("baseline", baseline));
  console.log(row("pipeline", pipeline));
  const ratio = pipeline.perSecond / baseline.perSecond;
  const cpuRatio = pipeline.cpuMicrosPerEmail / baseline.cpuMicrosPerEmail;
  console.log(`\npipeline / baseline throughput: ${ratio.toFixed(2)} (target ≥ 0.80) ${ratio >= 0.8 ? "✓" : "✗"}`);
  console.log(`pipeline / baseline CPU per email: ${cpuRatio.toFixed(2)} (target ≤ 1.25) ${cpuRatio <= 1.25 ? "✓" : "✗"}`);
} finally {
  fake.stop();
  rmSync(dir, { recursive: true, force: true });
}
