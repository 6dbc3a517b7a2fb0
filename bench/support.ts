import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { loadConfig, type Config } from "../src/config";

/**
 * Shared parts of the benchmarks: the fake Resend server in its own process (its CPU is not ours),
 * one measurement per fresh child process (so one phase's heap and caches never count against
 * another's), and the figures such a child reports.
 */

/** The configuration every benchmark runs the product with (environment variables, ARCHITECTURE.md). */
export const BENCH_ENV = { APP_URL: "https://course.example.com", APP_SECRET: "bench-secret-bench-secret-bench-secret-00", MAIL_POSTAL_ADDRESS: "1 Bench Street" } as const;

export const benchConfig = (): Config => loadConfig(BENCH_ENV);

/** The fake Resend API as a child process; `latencyMs` delays each answer. */
export async function startFakeResendProcess(latencyMs = 0): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/support/fake-resend-server.ts"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, FAKE_RESEND_LATENCY_MS: String(latencyMs) },
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`fake Resend exited with ${code}`)));
  });
  return { url: line.trim(), stop: () => child.kill("SIGTERM") };
}

/** What one measured phase cost: wall time (s), CPU of this process (µs, user + system). */
export interface PhaseFigures {
  emails: number;
  seconds: number;
  cpuMicros: number;
  /** RSS when the phase started (after seeding and setup), MB. */
  startRssMb: number;
  [extra: string]: number;
}

/**
 * Runs `work` and measures its wall time and CPU. The peak memory a benchmark reports is the
 * kernel's high-water mark for the whole child process (bench/pass-child.ts `maxRssMb`), read
 * after the phase: nothing samples memory while the phase runs, so nothing adds to its CPU.
 */
export async function measurePhase(work: () => Promise<number>): Promise<PhaseFigures> {
  const startRssMb = process.memoryUsage().rss / 2 ** 20;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const emails = await work();
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return { emails, seconds, cpuMicros: used.user + used.system, startRssMb };
}

/**
 * Runs `node [nodeArgs] --import tsx <script> <args>` (or, for a bundled `.js`, `node [nodeArgs]
 * <script> <args>` with no TypeScript loader) and returns the JSON its last stdout line holds. Each
 * phase of a benchmark runs this way, so its memory and CPU are its own.
 */
export async function runChild<T>(script: string, args: string[], nodeArgs: string[] = []): Promise<T> {
  // BENCH_NODE_ARGS: extra flags for every measured process (e.g. V8 heap settings), to compare.
  const extra = (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean);
  const loader = script.endsWith(".js") ? [] : ["--import", "tsx"];
  const child = spawn(process.execPath, [...nodeArgs, ...extra, ...loader, script, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const last = out.trim().split("\n").pop() ?? "";
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} exited with ${code}: ${last}`);
  return JSON.parse(last) as T;
}

export const mb = (n: number) => `${n.toFixed(0)} MB`;
export const ok = (pass: boolean) => (pass ? "✓" : "✗");
