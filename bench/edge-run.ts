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
 */
import worker from "../src/worker";
import { MIN_FILL_MS } from "../src/lib/signup-guard";

const env = { ...process.env } as Record<string, string | undefined>;
const scenario = process.argv[2];
const APP_URL = env.APP_URL!;

/** Node-only lazy loading, done once before anything is measured (see above). */
async function warmNodeBuiltins() {
  await (await fetch(`${env.RESEND_BASE_URL}/warm-up`)).arrayBuffer().catch(() => undefined);
  await new Response("a=b", { headers: { "content-type": "application/x-www-form-urlencoded" } }).formData();
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("warm-up key"), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  await crypto.subtle.sign("HMAC", key, new TextEncoder().encode("warm-up"));
  await crypto.subtle.digest("SHA-256", new Uint8Array(8));
}

/** CPU in ms (user + system, all threads of the process) spent from `run`'s start to its end. */
async function cpuOf<T>(run: () => Promise<T>): Promise<{ cpuMs: number; value: T }> {
  const before = process.cpuUsage();
  const value = await run();
  const used = process.cpuUsage(before);
  return { cpuMs: (used.user + used.system) / 1000, value };
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
  result = { getMs: page.cpuMs, getStatus: page.value.status, postMs: signup.cpuMs, postStatus: signup.value };
} else if (scenario === "post") {
  const signup = await cpuOf(() => post(env.BENCH_FORM_TOKEN!));
  result = { postMs: signup.cpuMs, postStatus: signup.value };
} else if (scenario === "cron") {
  const pass = await cpuOf(cron);
  result = { cronMs: pass.cpuMs };
} else {
  throw new Error("usage: edge-run.ts signup|post|cron");
}
console.log(`RESULT ${JSON.stringify(result)}`);
process.exit(0);
