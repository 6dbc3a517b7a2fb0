import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { createClient, type Client } from "@libsql/client/web";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { unstable_startWorker } from "wrangler";
import { freePort, startSqld } from "../../scripts/sqld.mjs";
import { COURSE_TITLE } from "../../src/course/meta";
import { createDb } from "../../src/db/client";
import type { DispatchReport } from "../../src/drip/dispatch";
import { MIN_FILL_MS } from "../../src/lib/signup-guard";
import { createSubscribers } from "../support/factories";
import { startFakeResend, type FakeResend } from "../support/fake-resend";
import { confirmByClick, formTokenIn } from "../support/signup";
import { linkIn } from "../support/test-app";

/**
 * src/worker.ts as Cloudflare runs it: bundled by wrangler and served by workerd, talking
 * libSQL-over-HTTP to a real sqld and the Resend SDK to a fake Resend on loopback. The cron
 * trigger is fired through wrangler's /__scheduled route (`worker.scheduled()` is broken in
 * wrangler 4.86); that route answers 200 at once and the pass runs on in `waitUntil`, so a test
 * knows a pass is over by its own report: the `dispatch_pass` log line the Worker writes when it
 * ends (wrangler prints the Worker's console to this process's console). Reading the fake Resend
 * before that line is no measure of a pass: a Worker pass holds no lease between two batches.
 */

// Offline: no usage metrics, no request.cf lookup; and never hand this process's environment to the Worker.
process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";
process.env.CLOUDFLARE_INCLUDE_PROCESS_ENV = "false";

const execFileAsync = promisify(execFile);
const CRON = "*/5 * * * *";
const APP_SECRET = "worker-test-secret-worker-test-secret-0123";

type Sqld = Awaited<ReturnType<typeof startSqld>>;

/**
 * The reports of finished cron runs (every course's pass summed), in order, taken from the Worker's log lines as wrangler
 * prints them; every other line goes through to the console as before.
 */
const passReports: DispatchReport[] = [];
/** The Worker's `warm_up_incomplete` lines: a step of its global-scope warm-up that workerd refused. */
const warmUpWarnings: string[] = [];
const consoleLog = console.log;
console.log = (...args: unknown[]) => {
  const line = args.map(String).join(" ");
  if (line.includes('"event":"warm_up_incomplete"')) warmUpWarnings.push(line);
  // One `dispatch_run` line per cron run sums its courses' passes.
  const json = line.match(/\{.*"event":"dispatch_run".*\}/)?.[0];
  if (json) passReports.push(JSON.parse(json) as DispatchReport);
  else consoleLog(...args);
};
type Worker = Awaited<ReturnType<typeof unstable_startWorker>>;

interface EdgeWorker {
  worker: Worker;
  /** The Worker's own origin; also its APP_URL, so links in emails lead back to it. */
  appUrl: string;
  /** worker.fetch with a path or URL, without following redirects (we assert them). */
  fetch(url: string, init?: Parameters<Worker["fetch"]>[1]): ReturnType<Worker["fetch"]>;
  /** Fires the cron trigger as Cloudflare would and resolves with the pass's report once it has ended. */
  runCron(): Promise<DispatchReport>;
}

/** Starts src/worker.ts in workerd with the given variables on top of the defaults. */
async function startEdgeWorker(vars: Record<string, string>): Promise<EdgeWorker> {
  const port = await freePort();
  const appUrl = `http://127.0.0.1:${port}`;
  const all: Record<string, string> = {
    APP_URL: appUrl,
    APP_SECRET,
    MAIL_FROM: "Natural Acne Medicine <lessons@course.test>",
    MAIL_POSTAL_ADDRESS: "Test Practice, 1 Test Lane, Testville",
    RESEND_API_KEY: "re_worker_test",
    SEND_HOUR: "8",
    ...vars,
  };
  const worker = await unstable_startWorker({
    config: "wrangler.toml",
    // wrangler would otherwise add a developer's .dev.vars (or .env) to the variables set here,
    // TURNSTILE_SECRET for instance; naming an explicit, empty env file makes it read neither.
    envFiles: ["/dev/null"],
    // Without this the programmatic API skips the nodejs_compat polyfills that wrangler dev applies.
    build: { nodejsCompatMode: "v2" },
    bindings: Object.fromEntries(Object.entries(all).map(([name, value]) => [name, { type: "plain_text" as const, value }])),
    dev: {
      server: { hostname: "127.0.0.1", port },
      inspector: false,
      watch: false,
      persist: false,
      // "log" so the Worker's console.log lines (its pass reports) reach this process.
      logLevel: "log",
      testScheduled: true,
    },
  });
  await worker.ready;
  return {
    worker,
    appUrl,
    fetch: (url, init) => worker.fetch(new URL(url, appUrl).href, { redirect: "manual", ...init }),
    async runCron() {
      const before = passReports.length;
      const response = await worker.fetch(`${appUrl}/__scheduled?cron=${encodeURIComponent(CRON)}`);
      await response.arrayBuffer();
      expect(response.status).toBe(200);
      await until("the cron pass to report", () => passReports.length > before, 60_000);
      expect(passReports.length, "one pass per cron run").toBe(before + 1);
      return passReports[before]!;
    },
  };
}

/**
 * A pass-through in front of sqld that counts requests: each one is a subrequest in Workers, so
 * together with the fake Resend's log it tells how many subrequests a cron pass really makes.
 */
async function startCountingProxy(target: string): Promise<{ url: string; requests: number; reset(): void; close(): Promise<void> }> {
  const counter = {
    url: "",
    requests: 0,
    reset() {
      counter.requests = 0;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
  const server: Server = createServer(async (req, res) => {
    counter.requests++;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const headers: Record<string, string> = {};
      for (const name of ["content-type", "authorization", "accept"]) {
        const value = req.headers[name];
        if (typeof value === "string") headers[name] = value;
      }
      const upstream = await fetch(`${target}${req.url ?? "/"}`, {
        method: req.method,
        headers,
        body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
      });
      const body = Buffer.from(await upstream.arrayBuffer());
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/octet-stream" });
      res.end(body);
    } catch (error) {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end(String(error));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  counter.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return counter;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` holds (a cron pass runs after /__scheduled has answered). */
async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

let sqld: Sqld;
let sqldProxy: Awaited<ReturnType<typeof startCountingProxy>>;
let resend: FakeResend;
let client: Client;
let db: ReturnType<typeof createDb>;

beforeAll(async () => {
  sqld = await startSqld();
  console.log(`sqld ${sqld.version} at ${sqld.url} (${sqld.binary})`);
  // The project's own migration command, as an operator runs it against Turso.
  const { stdout } = await execFileAsync("npm", ["run", "--silent", "db:migrate"], {
    env: { ...process.env, DATABASE_URL: sqld.url, DATABASE_AUTH_TOKEN: "" },
  });
  console.log(stdout.trim());
  sqldProxy = await startCountingProxy(sqld.url);
  resend = await startFakeResend();
  client = createClient({ url: sqld.url });
  db = createDb(client);
});

afterAll(async () => {
  console.log = consoleLog;
  client?.close();
  await resend?.close();
  await sqldProxy?.close();
  await sqld?.stop();
});

/** Every test starts from empty tables: none depends on another's leftovers. */
beforeEach(async () => {
  const tables = (await client.execute("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '__drizzle%'")).rows.map(
    (row) => String(row.name),
  );
  // Rows that point at subscribers go first.
  const ordered = [...tables.filter((name) => name !== "subscribers"), ...tables.filter((name) => name === "subscribers")];
  await client.batch(ordered.map((name) => `delete from "${name}"`), "write");
  resend.reset();
  sqldProxy.reset();
});

async function count(sql: string, args: string[] = []): Promise<number> {
  return Number((await client.execute({ sql, args })).rows[0]![0]);
}

/** What a finished pass did, as the fake Resend and the database saw it, checked against its own report. */
async function expectSettled(report: DispatchReport, totalSent: number): Promise<void> {
  expect(resend.emails.length, "emails at the fake Resend").toBe(totalSent);
  expect(await count("select count(*) from deliveries where status = 'sent'")).toBe(totalSent);
  expect(await count("select count(*) from enrollments where lease_id is not null"), "leases left behind").toBe(0);
  expect(new Set(resend.emails.map((email) => email.to[0])).size, "nobody mailed twice").toBe(totalSent);
  expect(report.sent).toBeLessThanOrEqual(totalSent);
}

describe("the Worker in workerd against sqld", () => {
  let edge: EdgeWorker;

  beforeAll(async () => {
    edge = await startEdgeWorker({ DATABASE_URL: sqldProxy.url, RESEND_BASE_URL: resend.url });
    console.log(`Worker (workerd) at ${edge.appUrl}; DATABASE_URL=${sqldProxy.url} (a counting pass-through to sqld)`);
  });
  afterAll(async () => {
    await edge?.worker.dispose();
  });

  it("GET / answers 200 with the course title and the signup form", async () => {
    const response = await edge.fetch("/");
    const html = await response.text();
    expect(response.status).toBe(200);
    expect(html).toContain(COURSE_TITLE);
    expect(formTokenIn(html)).toBeTruthy();
  });

  it("starts with its whole global-scope warm-up run: workerd refused none of its steps", async () => {
    // The warm-up runs when the Worker's module loads, before its first request.
    expect((await edge.fetch("/")).status).toBe(200);
    expect(warmUpWarnings).toEqual([]);
  });

  it("GET /healthz answers 200 with the database reachable", async () => {
    const response = await edge.fetch("/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("a visitor signs up, confirms from the email, gets lesson 1 from the cron pass and leaves the course in one click", async () => {
    // Typed with an internationalised domain: the Worker stores and mails its xn-- form.
    const typed = `edge-${Date.now()}@пример.рф`;
    const email = typed.replace("пример.рф", "xn--e1afmkfd.xn--p1ai");

    const page = await edge.fetch("/");
    const formToken = formTokenIn(await page.text());
    // The form refuses submissions faster than a person types.
    await sleep(MIN_FILL_MS + 250);
    const signup = await edge.fetch("/subscribe", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ formToken, email: typed, firstName: "Robin", timeZone: "Europe/Berlin", website: "" }).toString(),
    });
    expect(signup.status).toBe(303);
    expect(new URL(signup.headers.get("location")!, edge.appUrl).pathname).toBe("/check-your-inbox");

    const [confirmation] = resend.emailsTo(email);
    expect(confirmation, "the confirmation email").toBeDefined();
    expect(await count("select count(*) from subscribers where email = ? and status = 'pending'", [email])).toBe(1);

    // Opening the link only shows the Confirm button; pressing it confirms.
    const confirmUrl = linkIn(confirmation!.text, `${edge.appUrl}/confirm`);
    const opened = await edge.fetch(confirmUrl);
    expect(opened.status).toBe(200);
    expect(await count("select count(*) from subscribers where email = ? and status = 'pending'", [email])).toBe(1);
    const confirmed = await confirmByClick({ request: (url, init) => edge.fetch(url, init as never) as unknown as Promise<Response> }, confirmUrl);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain("confirmed");

    expect((await edge.runCron()).sent).toBe(1);
    expect(resend.emailsTo(email)).toHaveLength(2);
    const lesson = resend.emailsTo(email)[1]!;
    expect(lesson.tags).toContainEqual({ name: "lesson", value: "1" });
    expect(lesson.text).toContain("Robin");
    const listUnsubscribe = lesson.headers?.["List-Unsubscribe"];
    expect(listUnsubscribe).toMatch(new RegExp(`^<${edge.appUrl}/unsubscribe/[^>]+>$`));
    expect(lesson.headers?.["List-Unsubscribe-Post"]).toBe("List-Unsubscribe=One-Click");

    // RFC 8058: the mail client POSTs this body to the header's URL, with no cookies or Origin.
    const unsubscribe = await edge.fetch(listUnsubscribe!.slice(1, -1), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(unsubscribe.status).toBeGreaterThanOrEqual(200);
    expect(unsubscribe.status).toBeLessThan(300);
    // The lesson's one-click link leaves its course; consent (other courses) stays.
    const row = await client.execute({
      sql: "select s.status, e.state from subscribers s join enrollments e on e.subscriber_id = s.id and e.course = 'clear-skin' where s.email = ?",
      args: [email],
    });
    expect(row.rows[0]?.status).toBe("active");
    expect(row.rows[0]?.state).toBe("stopped");
  });

  it("with the default Worker budget one cron pass stays within Workers Free's 50 subrequests and leaves the rest for the next", async () => {
    await createSubscribers(db, 1000, Date.now() - 60_000);
    sqldProxy.reset();

    const first = await edge.runCron();
    const subrequests = sqldProxy.requests + resend.requests.length;
    console.log(
      `default budget: one pass sent ${first.sent} emails in ${resend.requests.length} Resend calls with ${sqldProxy.requests} libSQL requests = ${subrequests} subrequests (stopped by ${first.stoppedBy})`,
    );
    expect(first.sent).toBeGreaterThan(0);
    expect(first.sent).toBeLessThan(1000);
    expect(subrequests).toBeLessThanOrEqual(50);
    expect(first.calls).toBe(subrequests);
    await expectSettled(first, first.sent);

    // The rest stays due and goes out with the next runs, each within the same budget.
    const second = await edge.runCron();
    expect(second.sent).toBeGreaterThan(0);
    await expectSettled(second, first.sent + second.sent);
    expect(await count("select count(*) from enrollments where next_lesson = 1")).toBe(1000 - first.sent - second.sent);
  }, 180_000);
});

describe("the cron pass budget", () => {
  let small: EdgeWorker;

  beforeAll(async () => {
    small = await startEdgeWorker({ DATABASE_URL: sqldProxy.url, RESEND_BASE_URL: resend.url, DISPATCH_MAX_EMAILS: "10" });
  });
  afterAll(async () => {
    await small?.worker.dispose();
  });

  it("a pass sends at most DISPATCH_MAX_EMAILS and leaves the rest for the next runs", async () => {
    await createSubscribers(db, 30, Date.now() - 60_000);

    for (const expected of [10, 20, 30]) {
      sqldProxy.reset();
      const resendCalls = resend.requests.length;
      const report = await small.runCron();
      expect(report.sent).toBe(10);
      await expectSettled(report, expected);
      expect(await count("select count(*) from enrollments where next_lesson = 1")).toBe(30 - expected);
      console.log(`DISPATCH_MAX_EMAILS=10: pass sent 10 emails in ${resend.requests.length - resendCalls} Resend call(s) with ${sqldProxy.requests} libSQL requests`);
    }

    // Nothing is due any more (lesson 2 comes days later): another run sends nothing.
    expect((await small.runCron()).sent).toBe(0);
    await expectSettled(passReports.at(-1)!, 30);
  }, 180_000);
});
