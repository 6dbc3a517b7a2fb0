import autocannon from "autocannon";
import { build } from "esbuild";
import { NODE_BUNDLE } from "../scripts/build-node.mjs";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { MIN_FILL_MS } from "../src/lib/signup-guard";
import { formTokenIn } from "../tests/support/signup";
import { BENCH_ENV } from "./support";

/**
 * `npm run bench:signup [-- seconds]`: POST /subscribe under load (autocannon, 50 and 200
 * connections) against the product (the Node app as `npm start` wires and bundles it, embedded libSQL file,
 * the Resend SDK posting to the fake Resend server) and against a bare Hono + one libSQL insert
 * baseline (same HTTP server, same database settings), in the same run. Each server, the fake
 * and the load generator are separate processes; on a 2-core machine they still share the CPUs,
 * so read the ratio, not the absolute figures. Every request is a different valid address with
 * the form token a landing page served more than MIN_FILL_MS earlier and a same-origin browser's
 * headers, so every one is a real signup that sends a confirmation email (answer: 303).
 */
const SECONDS = Number(process.argv[2] ?? process.env.BENCH_SECONDS ?? 10);
const LEVELS = [50, 200];
const APP_URL = BENCH_ENV.APP_URL;
const TARGET_RATIO = 0.6;
const TARGET_P99_MS = 25;

/**
 * Bundles bench/signup-server.ts as scripts/build-node.mjs bundles the server for `npm start`
 * (esbuild, React's production build compiled in, libsql external), so neither server runs
 * through tsx's loader. Two levels below the project root, so the bundle finds migrations/.
 */
async function bundleServer(): Promise<string> {
  const outdir = join("dist-node", "bench-signup");
  await build({
    ...NODE_BUNDLE,
    entryPoints: { "signup-server": "bench/signup-server.ts" },
    outdir,
    splitting: true,
  });
  return join(outdir, "signup-server.js");
}

/** Starts `node [--import tsx] <script> args` and resolves with its first stdout line (its URL); later output is drained. */
async function startProcess(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ url: string; child: ChildProcess }> {
  const loader = script.endsWith(".ts") ? ["--import", "tsx"] : [];
  const child = spawn(process.execPath, [...loader, script, ...args], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`${script} ${args.join(" ")} exited with ${code}`)));
  });
  child.stdout!.resume();
  return { url: url.trim(), child };
}

let counter = 0;

/** A form post as the landing page sends it, each with a new address. */
function formBody(formToken: string): string {
  counter++;
  return new URLSearchParams({ formToken, email: `load${counter}-${process.pid}@example.com`, firstName: "Ada", timeZone: "Europe/Berlin", website: "" }).toString();
}

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux; undefined elsewhere).
 * Per request, it is the figure the shared machine's load disturbs least.
 */
function processCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime, fields 14 and 15 of the line, in clock ticks (USER_HZ, 100 on Linux).
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

interface Figures {
  connections: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  total: number;
  errors: number;
  unexpected: number;
  /** Answers by status code, e.g. "303×5000". */
  statuses: string;
  /** The server process's CPU per answered request, ms (NaN where /proc is missing). */
  cpuMsPerRequest: number;
}

async function load(server: { url: string; pid: number }, formToken: string, connections: number, seconds: number): Promise<Figures> {
  const { url, pid } = server;
  const cpuBefore = processCpuMs(pid);
  const result = await autocannon({
    url: `${url}/subscribe`,
    connections,
    duration: seconds,
    timeout: 30,
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      accept: "text/html",
      origin: APP_URL,
      "sec-fetch-site": "same-origin",
    },
    // Per request (autocannon applies a top-level setupRequest only once).
    requests: [{ setupRequest: (request) => ({ ...request, body: formBody(formToken) }) }],
  });
  const cpuUsed = (processCpuMs(pid) ?? NaN) - (cpuBefore ?? NaN);
  const answered = Object.entries(result.statusCodeStats ?? {}).reduce((sum, [, stat]) => sum + (stat.count ?? 0), 0);
  const redirected = result.statusCodeStats?.["303"]?.count ?? 0;
  return {
    connections,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: answered,
    errors: result.errors + result.timeouts,
    unexpected: answered - redirected,
    cpuMsPerRequest: cpuUsed / answered,
    statuses: Object.entries(result.statusCodeStats ?? {}).map(([code, stat]) => `${code}×${stat.count ?? 0}`).join(" "),
  };
}

/** The form token of a freshly served landing page, once it is old enough to be accepted. */
async function servedFormToken(url: string): Promise<string> {
  const page = await fetch(`${url}/`);
  const token = formTokenIn(await page.text());
  await new Promise((resolve) => setTimeout(resolve, MIN_FILL_MS + 200));
  return token;
}

const dir = mkdtempSync(join(tmpdir(), "bench-signup-"));
const children: ChildProcess[] = [];
try {
  const fake = await startProcess("tests/support/fake-resend-server.ts", [], {});
  children.push(fake.child);
  const env = {
    NODE_ENV: "production",
    ...BENCH_ENV,
    RESEND_API_KEY: "re_bench",
    RESEND_BASE_URL: fake.url,
    SIGNUP_LIMIT_PER_IP: "1000000",
  };
  const serverScript = await bundleServer();
  const servers = {} as Record<"baseline" | "app", { url: string; pid: number; token: string }>;
  for (const mode of ["baseline", "app"] as const) {
    const server = await startProcess(serverScript, [mode], { ...env, DATABASE_URL: `file:${join(dir, `${mode}.db`)}` });
    children.push(server.child);
    const token = mode === "app" ? await servedFormToken(server.url) : "-";
    // Warm-up (JIT, connection pools), not counted.
    const running = { url: server.url, pid: server.child.pid!, token };
    await load(running, token, 10, 2);
    servers[mode] = running;
  }

  const results: Record<string, Figures> = {};
  for (const connections of LEVELS) {
    for (const mode of ["baseline", "app"] as const) {
      results[`${mode}@${connections}`] = await load(servers[mode], servers[mode].token, connections, SECONDS);
    }
  }
  report(results);
} finally {
  for (const child of children) child.kill("SIGTERM");
  rmSync(dir, { recursive: true, force: true });
}

function report(results: Record<string, Figures>) {
  const cell = (value: string, width: number) => value.padStart(width);
  console.log(`\nbench:signup  POST /subscribe  ${SECONDS} s per run  node ${process.version}  (2 shared cores: compare ratios, not absolutes)\n`);
  console.log(`${"".padEnd(10)}${cell("conns", 6)}${cell("req/s", 9)}${cell("p50 ms", 8)}${cell("p99 ms", 8)}${cell("answered", 10)}${cell("errors", 8)}${cell("non-303", 9)}${cell("CPU ms/req", 12)}`);
  for (const [name, f] of Object.entries(results)) {
    console.log(
      `${name.split("@")[0]!.padEnd(10)}${cell(String(f.connections), 6)}${cell(f.requestsPerSecond.toFixed(0), 9)}${cell(f.p50.toFixed(1), 8)}${cell(f.p99.toFixed(1), 8)}${cell(String(f.total), 10)}${cell(String(f.errors), 8)}${cell(String(f.unexpected), 9)}${cell(f.cpuMsPerRequest.toFixed(2), 12)}  ${f.unexpected ? f.statuses : ""}`,
    );
  }
  console.log("");
  for (const connections of LEVELS) {
    const app = results[`app@${connections}`]!;
    const base = results[`baseline@${connections}`]!;
    const ratio = app.requestsPerSecond / base.requestsPerSecond;
    console.log(`${connections} connections: app / baseline req/s ${ratio.toFixed(2)} (target ≥ ${TARGET_RATIO}) ${ratio >= TARGET_RATIO ? "✓" : "✗"}`);
  }
  console.log("CPU ms/req: the server process's own CPU (from /proc) per answered request, the figure a busy machine disturbs least.");
  const app200 = results["app@200"]!;
  const base200 = results["baseline@200"]!;
  console.log(`200 connections: app p99 ${app200.p99.toFixed(1)} ms (target < ${TARGET_P99_MS} ms) ${app200.p99 < TARGET_P99_MS ? "✓" : "✗"}; the baseline's own p99 ${base200.p99.toFixed(1)} ms`);
  // Little's law: connections = throughput × mean latency, and the mean is at most the p99 here.
  const needed = 200 / (TARGET_P99_MS / 1000);
  console.log(
    `Little's law: p99 < ${TARGET_P99_MS} ms at 200 connections needs ≥ ${needed.toFixed(0)} req/s; the baseline itself reaches ${base200.requestsPerSecond.toFixed(0)} req/s on this machine.`,
  );
}
