import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildFigures } from "./pass-child";
import { ok, runChild, startFakeResendProcess } from "./support";

/**
 * `npm run bench:dispatch [-- N [latencyMs]]`: the full dispatch pipeline (claim, delivery rows,
 * render once, personalise, batch send, advance) for N due subscribers (default 100,000) against
 * a baseline that only posts pre-rendered batches to the same fake Resend server. Each phase runs
 * in its own fresh process (bench/pass-child.ts), so neither's CPU, heap or peak RSS counts
 * against the other; the fake runs in a process of its own too. With latency 0 (the default) the
 * fake answers at once, the worst case for us: every microsecond we spend shows; a latency like a
 * real API's (`-- 100000 80`) shows what an operator would see. Targets (issue 16), N = 100,000
 * and an instant provider: CPU per email ≤ 1.25× the baseline's, throughput ≥ 0.8× the baseline's.
 */
const N = Number(process.argv[2] ?? process.env.BENCH_N ?? 100_000);
const LATENCY_MS = Number(process.argv[3] ?? process.env.BENCH_LATENCY_MS ?? 0);
const CPU_TARGET = 1.25;
const THROUGHPUT_TARGET = 0.8;

const fake = await startFakeResendProcess(LATENCY_MS);
const dir = mkdtempSync(join(tmpdir(), "bench-dispatch-"));
try {
  const file = join(dir, "bench.db");
  const now = Date.now();
  await runChild("bench/pass-child.ts", ["seed", file, String(N), String(now)]);
  const baseline = await runChild<ChildFigures>("bench/pass-child.ts", ["baseline", file, String(N), String(now), fake.url]);
  const pipeline = await runChild<ChildFigures>("bench/pass-child.ts", ["pass", file, String(N), String(now), fake.url]);

  const perSecond = (f: ChildFigures) => f.emails / f.seconds;
  const cpuPerEmail = (f: ChildFigures) => f.cpuMicros / f.emails;
  const row = (name: string, f: ChildFigures) =>
    `${name.padEnd(10)} ${String(f.emails).padStart(8)} ${f.seconds.toFixed(2).padStart(8)} ${perSecond(f).toFixed(0).padStart(10)} ${cpuPerEmail(f).toFixed(0).padStart(12)} ${f.maxRssMb.toFixed(0).padStart(12)}`;
  console.log(`\nbench:dispatch  N=${N}  provider latency ${LATENCY_MS} ms  node ${process.version}  (each phase in a fresh process)\n`);
  console.log(`${"".padEnd(10)} ${"emails".padStart(8)} ${"seconds".padStart(8)} ${"emails/s".padStart(10)} ${"CPU µs/email".padStart(12)} ${"peak RSS MB".padStart(12)}`);
  console.log(row("baseline", baseline));
  console.log(row("pipeline", pipeline));
  const cpu = cpuPerEmail(pipeline) / cpuPerEmail(baseline);
  const throughput = perSecond(pipeline) / perSecond(baseline);
  console.log(`\npipeline / baseline CPU per email: ${cpu.toFixed(2)}× (target ≤ ${CPU_TARGET}×) ${ok(cpu <= CPU_TARGET)}`);
  console.log(`pipeline / baseline throughput:    ${throughput.toFixed(2)}× (target ≥ ${THROUGHPUT_TARGET}×) ${ok(throughput >= THROUGHPUT_TARGET)}`);
  console.log(`peak RSS: pipeline ${pipeline.maxRssMb.toFixed(0)} MB, baseline ${baseline.maxRssMb.toFixed(0)} MB (each its own process)`);
} finally {
  fake.stop();
  rmSync(dir, { recursive: true, force: true });
}
