import { execFileSync } from "node:child_process";
import nodeCrypto from "node:crypto";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { lessonEmailLinks, lessonUrl, manageUrl, unsubscribeUrl, feedbackUrl } from "../src/lib/links";
import { newId } from "../src/lib/ids";
import { signToken } from "../src/lib/tokens";

/**
 * `npm run bench:links [-- --emails 10000 --cold-runs 5]`: what the links of one lesson email cost.
 *
 * - before: the four HS256 JWTs the previous release signed per lesson email (hono/jwt over
 *   WebCrypto: manage, unsubscribe with the course, view in browser, feedback), as its
 *   `composeLessonEmail` made them (one `Promise.all`);
 * - after: `lessonEmailLinks` (src/lib/links.ts): one token, one node:crypto HMAC;
 * - the MAC alone, both ways: `crypto.subtle.sign` (imported key cached) against
 *   `createHmac` (derived key cached), over a 29-byte payload (a token's size).
 *
 * Warm: N emails in this process, CPU µs per email (process.cpuUsage: user + system, so WebCrypto's
 * work on libuv's pool counts too) and wall µs. Cold: the first email's links in a fresh process
 * (module imports done, keys not yet imported or derived), median of several processes.
 * The machine may be shared and noisy: read the ratios between rows of one run. A benchmark, not a test.
 */
const { values } = parseArgs({ options: { emails: { type: "string", default: "10000" }, "cold-runs": { type: "string", default: "5" }, cold: { type: "string" } } });
const SECRET = "bench-links-secret-bench-links-secret-0123";
const APP_URL = "https://course.example.com";
const COURSE_SLUG = "clear-skin";
const lesson = { number: 2, slug: "three-signs" };

/** The previous release's links of one lesson email (frozen here: it no longer exists in src/). */
async function before(subscriberId: string, run: number) {
  const [manage, unsubscribe, view, feedback] = await Promise.all([
    signToken(SECRET, { purpose: "manage", subscriberId }),
    signToken(SECRET, { purpose: "unsubscribe", subscriberId, course: COURSE_SLUG }),
    signToken(SECRET, { purpose: "lesson", subscriberId, lesson: lesson.number, course: COURSE_SLUG }),
    signToken(SECRET, { purpose: "feedback", subscriberId, course: COURSE_SLUG, run, lesson: lesson.number }),
  ]);
  return {
    manageUrl: manageUrl(APP_URL, manage),
    unsubscribeUrl: unsubscribeUrl(APP_URL, unsubscribe),
    viewInBrowserUrl: lessonUrl(APP_URL, lesson.slug, view),
    helpfulUrl: feedbackUrl(APP_URL, feedback, "helpful"),
    notHelpfulUrl: feedbackUrl(APP_URL, feedback, "not-helpful"),
  };
}

async function after(subscriberId: string, run: number) {
  return lessonEmailLinks(APP_URL, SECRET, { subscriberId, course: COURSE_SLUG, run, lesson });
}

const payload = new Uint8Array(29).fill(7);
let subtleKey: Promise<CryptoKey> | undefined;
async function macWebCrypto() {
  subtleKey ??= crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await crypto.subtle.sign("HMAC", await subtleKey, payload)).subarray(0, 16);
}
let derived: Buffer | undefined;
async function macNode() {
  derived ??= nodeCrypto.createHmac("sha256", SECRET).update("lesson-email-links/1").digest();
  return nodeCrypto.createHmac("sha256", derived).update(payload).digest().subarray(0, 16);
}

const WAYS = { before, after, "mac: crypto.subtle.sign": macWebCrypto, "mac: node:crypto createHmac": macNode } as const;
type Way = keyof typeof WAYS;

/** One email's work, `n` times in sequence (as a dispatcher composes them): µs per email. */
async function warm(way: Way, n: number) {
  const ids = Array.from({ length: n }, () => newId());
  const fn = WAYS[way];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn(ids[i]!, 1);
  const wallUs = ((performance.now() - t0) * 1000) / n;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: (cpu.user + cpu.system) / n, wallUs };
}

/** In a fresh process: the first email's cost, keys not yet imported. */
async function coldOnce(way: Way) {
  const id = newId();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await WAYS[way](id, 1);
  const wallUs = (performance.now() - t0) * 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ cpuUs: cpu.user + cpu.system, wallUs }));
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function cold(way: Way, runs: number) {
  const self = fileURLToPath(import.meta.url);
  const results = Array.from({ length: runs }, () => JSON.parse(execFileSync(process.execPath, ["--import", "tsx", self, "--cold", way], { encoding: "utf8" }).trim().split("\n").at(-1)!) as { cpuUs: number; wallUs: number });
  return { cpuUs: median(results.map((r) => r.cpuUs)), wallUs: median(results.map((r) => r.wallUs)) };
}

if (values.cold) {
  await coldOnce(values.cold as Way);
} else {
  const n = Number(values.emails);
  const runs = Number(values["cold-runs"]);
  // Each way once before measuring, so the JIT and the key caches are warm for the warm rows.
  for (const way of Object.keys(WAYS) as Way[]) await warm(way, 1000);
  const rows: Record<string, Record<string, string>> = {};
  for (const way of Object.keys(WAYS) as Way[]) {
    const w = await warm(way, n);
    const c = cold(way, runs);
    rows[way] = {
      [`warm CPU µs/email (N=${n})`]: w.cpuUs.toFixed(1),
      "warm wall µs/email": w.wallUs.toFixed(1),
      [`cold first call CPU µs (median of ${runs})`]: c.cpuUs.toFixed(0),
      "cold first call wall µs": c.wallUs.toFixed(0),
    };
  }
  console.log(`Links of one lesson email (Node ${process.version}); ratios within this run are what count:`);
  console.table(rows);
  const b = Number(rows.before![`warm CPU µs/email (N=${n})`]);
  const a = Number(rows.after![`warm CPU µs/email (N=${n})`]);
  console.log(`after / before, warm CPU: ${(a / b).toFixed(3)} (${(b / a).toFixed(1)}× cheaper)`);
}
