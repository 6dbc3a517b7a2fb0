import { createClient } from "@libsql/client/web";
import { env as bindings } from "cloudflare:workers";
import type { ExecutionContext } from "hono";
import { createApp, type App } from "./app";
import type { AppDeps } from "./app-env";
import { ConfigError, loadConfig } from "./config";
import { createDb } from "./db/client";
import { cronPass } from "./cron-pass";
import { createLogger, errorFields } from "./lib/logger";
import { createResendMailer } from "./mail/resend";
import { warmUp } from "./warm-up";

/** Worker bindings: every variable and secret from ARCHITECTURE.md arrives as a string. */
export type Env = Record<string, string | undefined>;

/** The parts of the Workers runtime types we use (kept local so Node and DOM types stay clean). */
interface ScheduledController {
  scheduledTime: number;
  cron: string;
}
interface ExportedHandler<E> {
  fetch(request: Request, env: E, ctx: ExecutionContext): Promise<Response>;
  scheduled(controller: ScheduledController, env: E, ctx: ExecutionContext): Promise<void>;
}

const logger = createLogger();

// Global scope: Cloudflare counts this against the startup limit, not a request's CPU (src/warm-up.ts).
const warmedUp = await warmUp(cronPass);
if (warmedUp.failed.length > 0) logger.warn("warm_up_incomplete", { steps: warmedUp.failed.join("; ") });

/** Built once per isolate: the bindings are the same for an isolate's lifetime. */
let cached: { env: Env; deps: AppDeps; app: App } | undefined;

/** Whether two env objects hold the same bindings (the one read in global scope may not be the handler's object). */
function sameBindings(a: Env, b: Env): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => a[key] === b[key]);
}

function depsFor(env: Env): { env: Env; deps: AppDeps; app: App } {
  if (cached?.env === env) return cached;
  if (cached && sameBindings(cached.env, env)) return (cached = { ...cached, env });
  const config = loadConfig(env, "worker");
  if (!config.resend) throw new ConfigError(["RESEND_API_KEY is required in the Worker (there is no outbox at the edge)"]);
  const client = createClient({ url: config.database.url, authToken: config.database.authToken });
  const deps: AppDeps = { db: createDb(client), mailer: createResendMailer(config.resend), clock: Date.now, config, logger };
  cached = { env, deps, app: createApp(deps) };
  return cached;
}

// The real dependencies too, from the bindings global scope can read: the first invocation finds
// them built. Nothing here does I/O (clients connect on first use). A bad configuration is left
// to the handlers, which answer and log it per request.
try {
  depsFor(bindings as Env);
} catch {
  cached = undefined;
}

function badEnvironment(error: unknown): Response {
  const problems = error instanceof ConfigError ? error.problems : ["unknown configuration error"];
  logger.error("bad_environment", { problems: problems.join("; ") });
  return Response.json(
    { error: { code: "BAD_ENVIRONMENT", message: "The service is not configured correctly. The operator has been told." } },
    { status: 500 },
  );
}

export default {
  async fetch(request, env, ctx) {
    let app: App;
    try {
      app = depsFor(env).app;
    } catch (error) {
      return badEnvironment(error);
    }
    return app.fetch(request, env, ctx);
  },
  async scheduled(controller, env, ctx) {
    // Bounded by the configured per-run budget; whatever is left is due again at the next cron run.
    const deps = depsFor(env).deps;
    ctx.waitUntil(
      cronPass(deps).catch((error: unknown) => {
        // Leases expire and the next run picks the work up; the operator needs to see why.
        logger.error("dispatch_failed", { cron: controller.cron, ...errorFields(error) });
      }),
    );
  },
} satisfies ExportedHandler<Env>;
