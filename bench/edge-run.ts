/**
 * One fresh process of `npm run bench:edge`: loads the Worker entry (src/worker.ts) as workerd
 * would, then measures with process.cpuUsage() the CPU of one scenario, as a Worker isolate's first
 * invocations would spend it. Module loading happens before the measurement (Workers do not count
 * the start-up of an isolate against a request's CPU limit), and so does a warm-up of the Node
 * built-ins that Node loads lazily on first use (fetch, form parsing, WebCrypto HMAC), which
 * workerd has built in; no code of ours runs before the measurement. Building the app's
 * dependencies (config, database client, routes) on the first invocation is measured, as in a
 * Worker. Prints one line: `RESULT {json}`. The Worker's bindings come from the environment.
 *
 *   scenario `signup`: the first GET / then, MIN_FILL_MS later, the first POST /subscribe
 *   scenario `post`:   a first POST /subscribe on its own (a form token from BENCH_FORM_TOKEN)
 *   scenario `cron`:   the first scheduled() run (whatever is due in the database)
 *
 * With BENCH_PROFILE_DIR set, each measured invocation is also CPU-profiled into that folder
 * (`<scenario>-<n>.cpuprofile`; the profiler's own overhead then inflates the figures).
 */
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { config as zodConfig } from "zod";
import worker from "../src/worker";
import { MIN_FILL_MS } from "../src/lib/signup-guard";

const env = { ...process.env } as Record<string, string | undefined>;
const scenario = process.argv[2];
const APP_URL = env.APP_URL!;

/**
 * Node-only lazy loading, done once before anything is measured (see above), and two settings that
 * make Node behave as workerd does: zod without its `new Function` compiler (workerd forbids eval,
 * and zod detects Cloudflare's user agent and runs jitless there), and ICU's time-zone data loaded
 * (with a zone the scenarios never use), as it is process-wide in workerd, which runs many isolates
 * per process; BENCH_COLD_ICU=1 leaves it cold.
 */
async function warmNodeBuiltins() {
  zodConfig({ jitless: true });
  if (!env.BENCH_COLD_ICU) new Intl.DateTimeFormat("en-US", { timeZone: "Pacific/Chatham", hour: "numeric" }).format(0);
  await (await fetch(`${env.RESEND_BASE_URL}/warm-up`)).arrayBuffer().catch(() => undefined);
  await new Response("a=b", { headers: { "content-type": "application/x-www-form-urlencoded" } }).formData();
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("warm-up key"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("warm-up"));
  await crypto.subtle.digest("SHA-256", new Uint8Array(8));
}

/** HTTP requests to the database (sqld) so far: each is one round trip a Worker would wait for. */
let databaseRequests = 0;
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.startsWith(env.DATABASE_URL!)) databaseRequests++;
  return realFetch(input, init);
};

/**
 * CPU in ms (user + system, all threads of the process) spent from `run`'s start to its end, and
 * the database round trips it made.
 */
let profiled = 0;
async function cpuOf<T>(run: () => Promise<T>): Promise<{ cpuMs: number; roundTrips: number; value: T }> {
  const session = env.BENCH_PROFILE_DIR ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 50 });
    await session.post("Profiler.start");
  }
  const trips = databaseRequests;
  const before = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(before);
  if (session) {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(env.BENCH_PROFILE_DIR!, `${scenario}-${++profiled}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  return { cpuMs: (used.user + used.system) / 1000, roundTrips: databaseRequests - trips, value };
}

const ctx = () => {
  const pending: Promise<unknown>[] = [];
  return { pending, waitUntil: (p: Promise<unknown>) => void pending.push(p), passThroughOnException() {}, props: {} };
};

const browserHeaders = { "cf-connecting-ip": "203.0.113.7", origin: APP_URL, "sec-fetch-site": "same-origin" };

async function get(): Promise<{ status: number; token: string }> {
  const c = ctx();
  const response = await worker.fetch(new Request(`${APP_URL}/`, { headers: browserHeaders }), env, c as never);
  const html = await response.text();
  await Promise.all(c.pending);
  return { status: response.status, token: /name="formToken" value="([^"]+)"/.exec(html)?.[1] ?? "" };
}

async function post(formToken: string): Promise<number> {
  const c = ctx();
  const body = new URLSearchParams({ formToken, email: `edge-${process.pid}-${Date.now()}@example.com`, firstName: "Ada", timeZone: "Europe/Berlin", website: "" });
  const request = new Request(`${APP_URL}/subscribe`, {
    method: "POST",
    headers: { ...browserHeaders, "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
    body: body.toString(),
    redirect: "manual",
  });
  const response = await worker.fetch(request, env, c as never);
  await response.arrayBuffer();
  await Promise.all(c.pending);
  return response.status;
}

async function cron(): Promise<void> {
  const c = ctx();
  await worker.scheduled({ scheduledTime: Date.now(), cron: "* * * * *" }, env, c as never);
  await Promise.all(c.pending);
}

await warmNodeBuiltins();
let result: Record<string, number>;
if (scenario === "signup") {
  const page = await cpuOf(get);
  await new Promise((resolve) => setTimeout(resolve, MIN_FILL_MS + 100));
  const signup = await cpuOf(() => post(page.value.token));
  result = { getMs: page.cpuMs, getStatus: page.value.status, getTrips: page.roundTrips, postMs: signup.cpuMs, postStatus: signup.value, postTrips: signup.roundTrips };
} else if (scenario === "post") {
  const signup = await cpuOf(() => post(env.BENCH_FORM_TOKEN!));
  result = { postMs: signup.cpuMs, postStatus: signup.value, postTrips: signup.roundTrips };
} else if (scenario === "cron") {
  const pass = await cpuOf(cron);
  result = { cronMs: pass.cpuMs, cronTrips: pass.roundTrips };
} else {
  throw new Error("usage: edge-run.ts signup|post|cron");
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
