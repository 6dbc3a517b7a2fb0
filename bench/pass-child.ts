import type { AppDeps } from "../src/app-env";
import { lessonByNumber } from "../src/course";
import { personalise } from "../src/drip/lesson-email";
import { lessonTemplate } from "../src/mail/emails";
import { applyMigrations } from "../src/db/migrate";
import { runDispatch } from "../src/drip/dispatch";
import { silentLogger } from "../src/lib/logger";
import { MAX_BATCH, type OutgoingEmail } from "../src/mail/mailer";
import { createResendMailer } from "../src/mail/resend";
import { openDatabase } from "../src/node-deps";
import { flushToDisk, seedPopulation } from "./population";
import { benchConfig, measurePhase, type PhaseFigures } from "./support";

/**
 * One phase of bench:dispatch or bench:memory, alone in a fresh process so that its CPU and its
 * peak RSS are its own (`runChild` in bench/support.ts starts it and reads the JSON it prints last):
 *
 *   seed     DB N NOW          N subscribers, all due at NOW, seeded by SQL (bench/population.ts)
 *   pass     DB N NOW URL      one dispatcher pass over them, sending to the fake Resend at URL
 *   baseline DB N NOW URL      the same process shape (same modules, same database open), posting
 *                              N pre-rendered emails in batches of 100 to the same fake
 *
 * `maxRssMb` is the kernel's high-water mark for the whole process (getrusage), module loading
 * included, so pass − baseline is what the dispatcher itself holds.
 */
export interface ChildFigures extends PhaseFigures {
  maxRssMb: number;
  heapUsedMb: number;
}

const maxRssMb = () => process.resourceUsage().maxRSS / 1024;

async function seed(file: string, n: number, now: number) {
  const { db, client } = await openDatabase(`file:${file}`);
  await applyMigrations(db);
  const ms = await seedPopulation(client, { subscribers: n, due: n, now });
  client.close();
  flushToDisk(file);
  return { seedSeconds: ms / 1000 };
}

async function pass(file: string, n: number, now: number, url: string): Promise<ChildFigures> {
  const { db, client } = await openDatabase(`file:${file}`);
  const deps: AppDeps = { db, mailer: createResendMailer({ apiKey: "re_bench", baseUrl: url }), clock: () => now, config: benchConfig(), logger: silentLogger };
  const figures = await measurePhase(async () => {
    const report = await runDispatch(deps, { budget: { maxEmails: Number.MAX_SAFE_INTEGER, maxMs: 3_600_000 } });
    if (report.sent !== n) throw new Error(`the pass sent ${report.sent} of ${n} (stopped by ${report.stoppedBy})`);
    return report.sent;
  });
  const heapUsedMb = liveHeapMb();
  client.close();
  return { ...figures, maxRssMb: maxRssMb(), heapUsedMb };
}

/** Heap in use after the phase: live memory when run with --expose-gc (collected first), else what is in use. */
function liveHeapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** The lesson as the baseline sends it: the compiled template filled once, the same for every recipient. */
async function preRendered(): Promise<(i: number) => OutgoingEmail> {
  const config = benchConfig();
  const lesson = lessonByNumber(1)!;
  const url = (path: string) => `${config.appUrl}/${path}`;
  const rendered = personalise(lessonTemplate(lesson, config), {
    firstName: "Reader",
    manageUrl: url("manage/x"),
    unsubscribeUrl: url("unsubscribe/x"),
    viewInBrowserUrl: url("lessons/x"),
    helpfulUrl: url("feedback/x/helpful"),
    notHelpfulUrl: url("feedback/x/not-helpful"),
  });
  return (i) => ({ to: `bulk${i}@example.com`, from: config.mailFrom, subject: lesson.subject, ...rendered });
}

async function baseline(file: string, n: number, url: string): Promise<ChildFigures> {
  const { client } = await openDatabase(`file:${file}`);
  const mailer = createResendMailer({ apiKey: "re_bench", baseUrl: url });
  const email = await preRendered();
  const figures = await measurePhase(async () => {
    for (let i = 0; i < n; i += MAX_BATCH) {
      const batch = Array.from({ length: Math.min(MAX_BATCH, n - i) }, (_, j) => email(i + j));
      const result = await mailer.sendBatch(batch, { idempotencyKey: `baseline-${i}` });
      if (!result.ok) throw new Error(`baseline send failed: ${result.error.message}`);
    }
    return n;
  });
  const heapUsedMb = liveHeapMb();
  client.close();
  return { ...figures, maxRssMb: maxRssMb(), heapUsedMb };
}

const [mode, file, n, now, url] = process.argv.slice(2);
const result =
  mode === "seed"
    ? await seed(file!, Number(n), Number(now))
    : mode === "pass"
      ? await pass(file!, Number(n), Number(now), url!)
      : mode === "baseline"
        ? await baseline(file!, Number(n), url!)
        : null;
if (!result) throw new Error("usage: pass-child.ts seed|pass|baseline DB N NOW [URL]");
console.log(JSON.stringify(result));
