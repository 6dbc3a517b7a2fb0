import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createApp } from "../src/app";
import { loadConfig } from "../src/config";
import { MIN_FILL_MS } from "../src/lib/signup-guard";
import { createLogger } from "../src/lib/logger";
import { createNodeDeps } from "../src/node-deps";
import { formTokenIn } from "../tests/support/signup";
import { BENCH_ENV, startFakeResendProcess } from "./support";

/**
 * Warm CPU of the landing GET and the signup POST, in process (no HTTP server), and a V8 CPU
 * profile of each: `NODE_ENV=production node --import tsx bench/profile-signup.ts [count] [outDir]`
 * writes outDir/landing.cpuprofile and outDir/signup.cpuprofile (default outDir: the system's temp
 * folder); `node bench/cpu-profile-summary.mjs FILE` sums their self time by function. Prints the
 * CPU µs per request of each kind, measured without the profiler.
 */
if (process.env.NODE_ENV !== "production") throw new Error("run with NODE_ENV=production (React's development build costs several times more)");
const COUNT = Number(process.argv[2] ?? 2000);
const OUT = process.argv[3] ?? tmpdir();
const fake = await startFakeResendProcess();
const dir = mkdtempSync(join(tmpdir(), "profile-signup-"));
try {
  const config = loadConfig({
    ...BENCH_ENV,
    RESEND_API_KEY: "re_bench",
    RESEND_BASE_URL: fake.url,
    SIGNUP_LIMIT_PER_IP: "1000000",
    DATABASE_URL: `file:${join(dir, "profile.db")}`,
  });
  const deps = await createNodeDeps(config, createLogger(() => {}));
  const app = createApp({ ...deps, clientIp: () => "203.0.113.7", compress: true });
  const headers = { origin: "https://course.example.com", "sec-fetch-site": "same-origin" };
  const token = formTokenIn(await (await app.request("/", { headers })).text());
  await new Promise((resolve) => setTimeout(resolve, MIN_FILL_MS + 100));
  const post = (i: number) =>
    app.request("/subscribe", {
      method: "POST",
      headers: { ...headers, "content-type": "application/x-www-form-urlencoded", accept: "text/html" },
      body: new URLSearchParams({ formToken: token, email: `p${i}@example.com`, firstName: "Ada", timeZone: "Europe/Berlin", website: "" }).toString(),
    });
  for (let i = 0; i < 200; i++) {
    await (await app.request("/", { headers: { ...headers, "accept-encoding": "gzip" } })).text();
    if ((await post(-i - 1)).status !== 303) throw new Error("warm-up signup failed");
  }
  const measure = async (run: (i: number) => Promise<unknown>) => {
    const before = process.cpuUsage();
    for (let i = 0; i < COUNT; i++) await run(i);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / COUNT;
  };
  const landing = async () => (await app.request("/", { headers: { ...headers, "accept-encoding": "gzip" } })).text();
  let n = 0;
  const signup = async () => {
    const response = await post(n++);
    if (response.status !== 303) throw new Error(`signup answered ${response.status}`);
  };
  const getUs = await measure(landing);
  const postUs = await measure(signup);
  console.log(`warm CPU per request: GET / ${getUs.toFixed(0)} µs, POST /subscribe ${postUs.toFixed(0)} µs (${COUNT} each)`);
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 100 });
  for (const [name, run] of [["landing", landing], ["signup", signup]] as const) {
    await session.post("Profiler.start");
    for (let i = 0; i < COUNT; i++) await run();
    const { profile } = await session.post("Profiler.stop");
    writeFileSync(join(OUT, `${name}.cpuprofile`), JSON.stringify(profile));
  }
  console.log(`profiles: ${join(OUT, "landing.cpuprofile")}, ${join(OUT, "signup.cpuprofile")}`);
} finally {
  fake.stop();
  rmSync(dir, { recursive: true, force: true });
}
