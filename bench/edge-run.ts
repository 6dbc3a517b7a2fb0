/**
 * One fresh process of `npm run bench:edge`: measures the CPU of one scenario as a Worker isolate's
 * first invocations would spend it. First a warm-up of the Node built-ins that Node loads lazily on
 * first use (fetch, form parsing, WebCrypto HMAC), which workerd has built in. Then the Worker
 * entry (src/worker.ts) is imported, measured on its own as `startup`: its modules' evaluation, its
 * global-scope warm-up (src/warm-up.ts) and its dependencies built from the bindings it reads in
 * global scope (`cloudflare:workers`, here bench/cloudflare-workers-env.ts: the environment), which
 * Cloudflare counts against the startup limit (1 s), not against a request. Then the scenario's
 * invocations, each measured. Each figure twice: all threads (process.cpuUsage()) and the JavaScript thread alone
 * (/proc/thread-self/schedstat). Prints one line: `RESULT {json}`. Bindings come from the environment.
 *
 *   scenario `signup`: the first GET / then, MIN_FILL_MS later, the first POST /subscribe
 *   scenario `post`:   a first POST /subscribe on its own (a form token from BENCH_FORM_TOKEN), then
 *                      a second one, the warm baseline
 *   scenario `cron`:   the first scheduled() run (whatever is due in the database), then prints
 *                      SEED_AGAIN, waits for a line on stdin, and runs a second one, the warm baseline
 *
 * With BENCH_PROFILE_DIR set, each measured invocation is also CPU-profiled into that folder
 * (`<scenario>-<n>.cpuprofile`; the profiler's own overhead then inflates the figures).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { config as zodConfig } from "zod";
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
  if (!env.BENCH_COLD_ICU)
    new Intl.DateTimeFormat("en-US", {
      timeZone: "Pacific/Chatham",
      hour: "numeric",
    }).format(0);
  // Node's fetch (undici, JavaScript) as the Worker's calls use it, a JSON POST to each origin
  // (libSQL's as a Request object with a body): its code compiled and a connection open, as
  // workerd's native fetch needs neither.
  const pipeline = { requests: [{ type: "execute", stmt: { sql: "select 1" } }, { type: "close" }] };
  const json = { "content-type": "application/json" };
  await (await fetch(new Request(`${env.DATABASE_URL}/v2/pipeline`, { method: "POST", headers: json, body: JSON.stringify(pipeline) }))).json();
  await (await fetch(`${env.RESEND_BASE_URL}/warm-up`, { method: "POST", headers: json, body: JSON.stringify({ warm: "up" }) })).arrayBuffer();
  // Requests and responses as the app makes and reads them (workerd's are native too).
  const form = { "content-type": "application/x-www-form-urlencoded" };
  await new Request("https://warm-up.invalid/", { method: "POST", headers: form, body: "a=b" }).formData();
  await new Response("a=b", { headers: form }).formData();
  // Hono reads a form as bytes and parses them through a Response.
  await new Response(await new Request("https://warm-up.invalid/", { method: "POST", headers: form, body: "a=b" }).arrayBuffer(), { headers: form }).formData();
  await new Response("<p>warm</p>", { status: 303, headers: { "content-type": "text/html", location: "/" } }).arrayBuffer();
  await Response.json({ warm: "up" }).text();
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("warm-up key"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("warm-up"));
  await crypto.subtle.digest("SHA-256", new Uint8Array(8));
}

/** HTTP requests to the database (sqld) so far: each is one round trip a Worker would wait for. */
let databaseRequests = 0;
const realFetch = globalThis.fetch;
/** The bodies the Worker posted to Resend (the SDK posts JSON text), kept for `replayFetches`. */
let providerBodies: { url: string; body: string }[] = [];
globalThis.fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  if (url.startsWith(env.DATABASE_URL!)) databaseRequests++;
  else if (typeof init?.body === "string") providerBodies.push({ url, body: init.body });
  return realFetch(input, init);
};

/**
 * The I/O floor: `trips` database requests (a one-statement pipeline each) and the given provider
 * bodies again, through Node's fetch alone, with nothing of the Worker around them. What the same
 * invocation costs above this is the Worker's own code; this part workerd does in native code.
 */
async function replayFetches(trips: number, bodies: { url: string; body: string }[]): Promise<void> {
  const pipeline = JSON.stringify({ requests: [{ type: "execute", stmt: { sql: "select 1" } }, { type: "close" }] });
  const headers = { "content-type": "application/json", authorization: "Bearer re_bench" };
  for (let i = 0; i < trips; i++) await (await realFetch(new Request(`${env.DATABASE_URL}/v2/pipeline`, { method: "POST", headers, body: pipeline }))).json();
  for (const { url, body } of bodies) await (await realFetch(url, { method: "POST", headers, body })).json();
}

/** Measures `replayFetches` for what `measured` did: its database round trips and its provider bodies. */
async function floorOf(measured: { roundTrips: number }, bodies: { url: string; body: string }[]) {
  return cpuOf(() => replayFetches(measured.roundTrips, bodies), false);
}

/**
 * CPU time of the calling (JavaScript) thread so far, in ns: the first field of Linux's
 * /proc/thread-self/schedstat. Unlike process.cpuUsage() it leaves out V8's background threads
 * (concurrent compilers, GC helpers) and Node's own, as a Worker's CPU time leaves them out.
 * The kernel brings that figure up to date only when the thread is switched out (else it lags by
 * up to a scheduler tick, 4 ms here), so the thread sleeps 50 µs first, which costs no CPU.
 */
const sleepCell = new Int32Array(new SharedArrayBuffer(4));
function threadCpuNs(): number {
  Atomics.wait(sleepCell, 0, 0, 0.05);
  return Number(readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]);
}

/**
 * CPU in ms spent from `run`'s start to its end: all threads of the process (user + system,
 * `cpuMs`) and the JavaScript thread alone (`threadMs`); and the database round trips it made.
 */
let profiled = 0;
async function cpuOf<T>(run: () => Promise<T>, profile = true): Promise<{ cpuMs: number; threadMs: number; roundTrips: number; value: T }> {
  const session = env.BENCH_PROFILE_DIR && profile ? new Session() : undefined;
  if (session) {
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 50 });
    await session.post("Profiler.start");
  }
  const trips = databaseRequests;
  const threadBefore = threadCpuNs();
  const before = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(before);
  const threadMs = (threadCpuNs() - threadBefore) / 1e6;
  if (session) {
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(env.BENCH_PROFILE_DIR!, `${scenario}-${++profiled}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
  return {
    cpuMs: (used.user + used.system) / 1000,
    threadMs,
    roundTrips: databaseRequests - trips,
    value,
  };
}

/** `<name>Ms` (all threads), `<name>ThreadMs` (the JavaScript thread) and `<name>Trips`. */
const figures = (name: string, m: { cpuMs: number; threadMs: number; roundTrips: number }) => ({
  [`${name}Ms`]: m.cpuMs,
  [`${name}ThreadMs`]: m.threadMs,
  [`${name}Trips`]: m.roundTrips,
});

const ctx = () => {
  const pending: Promise<unknown>[] = [];
  return {
    pending,
    waitUntil: (p: Promise<unknown>) => void pending.push(p),
    passThroughOnException() {},
    props: {},
  };
};

const browserHeaders = {
  "cf-connecting-ip": "203.0.113.7",
  origin: APP_URL,
  "sec-fetch-site": "same-origin",
};

async function get(): Promise<{ status: number; token: string }> {
  const c = ctx();
  const response = await worker.fetch(new Request(`${APP_URL}/`, { headers: browserHeaders }), env, c as never);
  const html = await response.text();
  await Promise.all(c.pending);
  return {
    status: response.status,
    token: /name="formToken" value="([^"]+)"/.exec(html)?.[1] ?? "",
  };
}

let posted = 0;
async function post(formToken: string): Promise<number> {
  const c = ctx();
  const body = new URLSearchParams({
    formToken,
    email: `edge-${process.pid}-${Date.now()}-${++posted}@example.com`,
    firstName: "Ada",
    timeZone: "Europe/Berlin",
    website: "",
  });
  const request = new Request(`${APP_URL}/subscribe`, {
    method: "POST",
    headers: {
      ...browserHeaders,
      "content-type": "application/x-www-form-urlencoded",
      accept: "text/html",
    },
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
// The Worker's global scope (its modules' evaluation and src/warm-up.ts): Cloudflare's startup
// limit (1 s), not a request's CPU.
const startup = await cpuOf(() => import("../src/worker"), false);
const worker = startup.value.default;
let result: Record<string, number> = { ...figures("startup", startup) };
if (scenario === "signup") {
  const page = await cpuOf(get);
  await new Promise((resolve) => setTimeout(resolve, MIN_FILL_MS + 100));
  const signup = await cpuOf(() => post(page.value.token));
  result = {
    ...result,
    ...figures("get", page),
    getStatus: page.value.status,
    ...figures("postAfterGet", signup),
    postStatus: signup.value,
  };
} else if (scenario === "post") {
  const signup = await cpuOf(() => post(env.BENCH_FORM_TOKEN!));
  // The same again in the same isolate: the warm baseline (what a cold isolate pays on top).
  providerBodies = [];
  const again = await cpuOf(() => post(env.BENCH_FORM_TOKEN!));
  const floor = await floorOf(again, providerBodies);
  result = {
    ...result,
    ...figures("post", signup),
    postStatus: signup.value,
    ...figures("warmPost", again),
    ...figures("postFloor", floor),
  };
} else if (scenario === "cron") {
  const pass = await cpuOf(cron);
  // The warm baseline: a second pass in the same isolate, once the parent has made as many due again.
  console.log("SEED_AGAIN");
  await new Promise((resolve) => createInterface({ input: process.stdin }).once("line", resolve));
  providerBodies = [];
  const again = await cpuOf(cron);
  const floor = await floorOf(again, providerBodies);
  result = {
    ...result,
    ...figures("cron", pass),
    ...figures("warmCron", again),
    ...figures("cronFloor", floor),
    providerBytes: providerBodies.reduce((sum, b) => sum + b.body.length, 0),
  };
} else {
  throw new Error("usage: edge-run.ts signup|post|cron");
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
