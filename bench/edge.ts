import { createClient } from "@libsql/client";
import { build } from "esbuild";
import { NODE_BUNDLE } from "../scripts/build-node.mjs";
import { count, eq } from "drizzle-orm";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { startSqld } from "../scripts/sqld.mjs";
import { createDb } from "../src/db/client";
import { applyMigrations } from "../src/db/migrate";
import { deliveries } from "../src/db/schema";
import { issueFormToken, MIN_FILL_MS } from "../src/lib/signup-guard";
import { createSubscribers } from "../tests/support/factories";

/**
 * `npm run bench:edge [-- runs]`: the CPU a Worker would spend on a cold signup and on a cold cron
 * pass of 100 due emails, measured on the Worker entry's own code in a fresh Node process per run
 * (bench/edge-run.ts), against a real sqld over HTTP (what a Worker talks to, so the database's CPU
 * is not ours) and the fake Resend server in its own process. Prints the median and the worst run
 * beside the 5 ms target (Workers Free allows 10 ms per invocation).
 */
const RUNS = Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 7);
const DUE = 100;
const TARGET_MS = 5;
const APP_URL = "https://course.example.com";
const APP_SECRET = "bench-secret-bench-secret-bench-secret-00";

async function startFake(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, ["--import", "tsx", "tests/support/fake-resend-server.ts"], { stdio: ["ignore", "pipe", "inherit"] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`fake Resend exited with ${code}`)));
  });
  return { url: line.trim(), stop: () => child.kill("SIGTERM") };
}

/**
 * Bundles bench/edge-run.ts (with the Worker entry) into one file as wrangler bundles a Worker:
 * NODE_ENV compiled in as "production", dynamic imports inlined (evaluated when first imported,
 * as in the Worker's bundle), no TypeScript loader at run time.
 */
async function bundleRunner(): Promise<string> {
  const outfile = join("dist-node", "bench-edge", "edge-run.js");
  await build({
    ...NODE_BUNDLE,
    entryPoints: ["bench/edge-run.ts"],
    outfile,
  });
  return outfile;
}

const RUNNER = await bundleRunner();

/** Runs one fresh `edge-run` process and returns its RESULT line's figures. */
function runFresh(scenario: string, env: NodeJS.ProcessEnv): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUNNER, scenario], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
    let result: Record<string, number> | undefined;
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("RESULT ")) result = JSON.parse(line.slice("RESULT ".length)) as Record<string, number>;
    });
    child.once("exit", (code) => (result && code === 0 ? resolve(result) : reject(new Error(`edge-run ${scenario} exited with ${code}`))));
  });
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const sqld = await startSqld();
const fake = await startFake();
try {
  const client = createClient({ url: sqld.url });
  const db = createDb(client);
  await applyMigrations(db);
  const env = {
    // What wrangler compiles into the Worker bundle (React's production build).
    NODE_ENV: "production",
    APP_URL,
    APP_SECRET,
    DATABASE_URL: sqld.url,
    MAIL_POSTAL_ADDRESS: "1 Bench Street",
    RESEND_API_KEY: "re_bench",
    RESEND_BASE_URL: fake.url,
    RESEND_WEBHOOK_SECRET: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    SIGNUP_LIMIT_PER_IP: "1000000",
  };

  const CRON = `cron pass, ${DUE} due`;
  const rows: Record<string, number[]> = { "GET / (first request)": [], "POST /subscribe (after that GET)": [], "POST /subscribe (first request)": [], [CRON]: [] };
  /** Database round trips (HTTP requests to sqld) of each, from the last run. */
  const trips: Record<string, number> = {};
  const sent = async () => (await db.select({ n: count() }).from(deliveries).where(eq(deliveries.status, "sent")))[0]!.n;
  for (let run = 0; run < RUNS; run++) {
    const signup = await runFresh("signup", env);
    if (signup.getStatus !== 200 || signup.postStatus !== 303) throw new Error(`signup answered ${signup.getStatus} / ${signup.postStatus}`);
    rows["GET / (first request)"]!.push(signup.getMs!);
    rows["POST /subscribe (after that GET)"]!.push(signup.postMs!);
    trips["GET / (first request)"] = signup.getTrips!;
    trips["POST /subscribe (after that GET)"] = signup.postTrips!;

    const token = await issueFormToken(APP_SECRET, Date.now() - MIN_FILL_MS - 3_000);
    const post = await runFresh("post", { ...env, BENCH_FORM_TOKEN: token });
    if (post.postStatus !== 303) throw new Error(`signup answered ${post.postStatus}`);
    rows["POST /subscribe (first request)"]!.push(post.postMs!);
    trips["POST /subscribe (first request)"] = post.postTrips!;

    await createSubscribers(db, DUE, Date.now() - 60_000);
    const before = await sent();
    const pass = await runFresh("cron", env);
    const emails = (await sent()) - before;
    if (emails !== DUE) throw new Error(`the cron pass sent ${emails} of ${DUE}`);
    rows[CRON]!.push(pass.cronMs!);
    trips[CRON] = pass.cronTrips!;
  }
  client.close();

  console.log(`\nbench:edge  ${RUNS} runs, a fresh Node ${process.version} process each; sqld ${sqld.version} over HTTP; fake Resend in its own process\n`);
  console.log(`${"CPU ms".padEnd(36)}${"median".padStart(8)}${"worst".padStart(8)}${"target".padStart(8)}    ${"DB round trips"}`);
  for (const [name, values] of Object.entries(rows)) {
    const worst = Math.max(...values);
    const verdict = worst <= TARGET_MS ? "✓" : "✗";
    console.log(`${name.padEnd(36)}${median(values).toFixed(1).padStart(8)}${worst.toFixed(1).padStart(8)}${`≤ ${TARGET_MS}`.padStart(8)}  ${verdict}${String(trips[name]).padStart(8)}`);
  }
  console.log(
    [
      "",
      "Measured with process.cpuUsage() around each invocation (user + system), on the Worker entry bundled with esbuild as",
      "wrangler bundles it. Module loading is not counted (Workers do not count an isolate's start-up against a request), nor",
      "is Node's lazy loading of fetch, form parsing and WebCrypto (built into workerd), done before measuring; zod runs",
      `jitless as in workerd (no eval there); ICU's time-zone data is ${process.env.BENCH_COLD_ICU ? "COLD (BENCH_COLD_ICU)" : "loaded first (process-wide in workerd; BENCH_COLD_ICU=1: cold)"}.`,
      "Building the app on the first invocation is counted, as in a Worker.",
      "process.cpuUsage() counts every thread of the process: V8's background compiler and GC threads are included, so",
      "these figures overstate what workerd bills for the request's own thread. Workers Free allows 10 ms per invocation.",
    ].join("\n"),
  );
} finally {
  fake.stop();
  await sqld.stop();
}
