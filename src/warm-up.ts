import { createClient } from "@libsql/client/web";
import { createApp } from "./app";
import type { AppDeps } from "./app-env";
import { loadConfig } from "./config";
import { coursesOf } from "./course/registry";
import { createDb } from "./db/client";
import { silentLogger } from "./lib/logger";
import { issueFormToken, MIN_FILL_MS } from "./lib/signup-guard";
import { createResendMailer } from "./mail/resend";
import { withStandIns } from "./warm-up-stand-ins";

/**
 * A Worker isolate's warm-up, run once in its global scope (src/worker.ts) before any request.
 *
 * Why: V8 compiles a function the first time it runs, and a fresh isolate's first signup or cron
 * run would otherwise pay for compiling Hono's routing, zod, drizzle's query building, the libSQL
 * and Resend clients and our own code (bench:edge: 35–270 ms of CPU, against Workers Free's 10 ms
 * per invocation). Cloudflare counts global-scope work against the separate startup limit (1 s,
 * https://developers.cloudflare.com/workers/platform/limits/#worker-startup-time), so the same code
 * paths run here once, on inert inputs, and the first real invocation finds them compiled.
 *
 * What runs: `GET /` and a `POST /subscribe` through an app of its own, and one `cronPass` (the
 * Worker's scheduled work: lessons, housekeeping, outbound webhooks), with a
 * configuration made of example values (`WARM_UP_ENV`), against a libSQL server and a Resend API
 * answered in memory (src/warm-up-stand-ins.ts): the pass claims one row per course and sends it.
 * Workers forbid I/O, timers, random values and even building a Request or Response in global
 * scope, so those globals are stand-ins for the duration and are put back before this returns.
 * Nothing built here is kept (the Worker builds its own dependencies from its bindings, src/worker.ts),
 * and no data leaves the isolate.
 *
 * Never throws. Returns what ran: the steps that threw, each with its message (inputs are inert, so
 * it names no person), or the whole warm-up when its setup or a stand-in failed; and the emails
 * the stand-in provider took. The Worker logs any failure, so a runtime or code change that
 * disables a step shows in its logs and in the tests, not only as a slower start.
 */
export async function warmUp(cronPass: (deps: AppDeps) => Promise<void>): Promise<WarmUpReport> {
  try {
    return await warmUpSteps(cronPass);
  } catch (error) {
    // Its setup (configuration, clients, app) or a stand-in the runtime refused: the Worker must
    // still start, only colder.
    return { failed: [`warm-up (${messageOf(error)})`], emailsSent: 0 };
  }
}

const messageOf = (error: unknown) => (error instanceof Error ? error.message.slice(0, 200) : "unknown error");

async function warmUpSteps(cronPass: (deps: AppDeps) => Promise<void>): Promise<WarmUpReport> {
  return withStandIns(async (standIns) => {
    const failed: string[] = [];
    const step = async (name: string, run: () => Promise<unknown>) => {
      try {
        await run();
      } catch (error) {
        failed.push(`${name} (${messageOf(error)})`);
      }
    };
    const config = loadConfig(WARM_UP_ENV, "worker");
    const client = createClient({
      url: config.database.url,
      fetch: standIns.database,
    });
    const deps: AppDeps = {
      db: createDb(client),
      mailer: createResendMailer(config.resend!),
      clock: Date.now,
      config,
      logger: silentLogger,
    };
    const app = createApp(deps);
    const at = async (
      path: string,
      expected: number,
      init: {
        method?: string;
        headers?: Record<string, string>;
        body?: string;
      } = {},
    ) => {
      const headers = {
        ...BROWSER,
        ...init.headers,
        ...(init.body !== undefined && {
          "content-length": String(init.body.length),
        }),
      };
      const response = await app.fetch(new Request(`${WARM_UP_URL}${path}`, { ...init, headers }), {}, undefined);
      await response.text();
      if (response.status !== expected) throw new Error(`${path} answered ${response.status}`);
    };
    await step("landing page", () => at("/", 200));
    await step("signup", async () => {
      const formToken = await issueFormToken(config.appSecret, deps.clock() - MIN_FILL_MS - 1_000);
      const body = new URLSearchParams({
        formToken,
        email: "warm-up@example.com",
        firstName: "Ada",
        timeZone: "Europe/Berlin",
        website: "",
      });
      await at("/subscribe", 303, {
        method: "POST",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          accept: "text/html",
        },
        body: body.toString(),
      });
    });
    await step("cron pass", async () => {
      const before = standIns.emailsSent();
      await cronPass(deps);
      // One lesson per course: fewer means the pass stopped short of sending (its SQL changed?).
      const courses = coursesOf(deps).allCourses().length;
      if (standIns.emailsSent() - before < courses) throw new Error(`sent ${standIns.emailsSent() - before} of ${courses} lessons`);
    });
    return { failed, emailsSent: standIns.emailsSent() };
  });
}

export interface WarmUpReport {
  /** Steps that threw, each with its error's message. */
  failed: string[];
  /** Emails the stand-in Resend API took: the confirmation, and a lesson per course from the pass. */
  emailsSent: number;
}

const WARM_UP_URL = "https://warm-up.invalid";
/** Example bindings: `.invalid` hosts (RFC 2606) that nothing could reach even if a stand-in slipped. */
const WARM_UP_ENV = {
  APP_URL: WARM_UP_URL,
  APP_SECRET: "warm-up-secret-never-used-for-anything-real",
  DATABASE_URL: WARM_UP_URL,
  MAIL_POSTAL_ADDRESS: "1 Example Street",
  RESEND_API_KEY: "re_warm_up",
  RESEND_BASE_URL: WARM_UP_URL,
};
/** A same-origin browser's headers, with a request id so none needs a random one. */
const BROWSER = {
  "x-request-id": "warm-up",
  "cf-connecting-ip": "192.0.2.1",
  origin: WARM_UP_URL,
  "sec-fetch-site": "same-origin",
};
