import { createClient } from "@libsql/client/web";
import type { ExecutionContext } from "hono";
import { createApp, type App } from "./app";
import type { AppDeps } from "./app-env";
import { ConfigError, loadConfig } from "./config";
import { createDb } from "./db/client";
import { HOUSEKEEPING_CALLS, runHousekeeping } from "./db/retention";
import { createLogger, errorFields } from "./lib/logger";
import { createResendMailer } from "./mail/resend";
import { runDispatchAll } from "./drip/dispatch-all";
import { runWebhookDeliveries } from "./outbound/deliver";

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

/** Built once per isolate: the env object is stable for an isolate's lifetime. */
let cached: { env: Env; deps: AppDeps; app: App } | undefined;

function depsFor(env: Env): { deps: AppDeps; app: App } {
  if (cached?.env === env) return cached;
  const config = loadConfig(env, "worker");
  if (!config.resend) throw new ConfigError(["RESEND_API_KEY is required in the Worker (there is no outbox at the edge)"]);
  const client = createClient({ url: config.database.url, authToken: config.database.authToken });
  const deps: AppDeps = { db: createDb(client), mailer: createResendMailer(config.resend), clock: Date.now, config, logger };
  cached = { env, deps, app: createApp(deps) };
  return cached;
}

function badEnvironment(error: unknown): Response {
  const problems = error instanceof ConfigError ? error.problems : ["unknown configuration error"];
  logger.error("bad_environment", { problems: problems.join("; ") });
  return Response.json(
    { error: { code: "BAD_ENVIRONMENT", message: "The service is not configured correctly. The operator has been told." } },
    { status: 500 },
  );
}

/**
 * One cron run within the Worker's subrequest budget: lessons of every course first (`runDispatchAll`); then housekeeping and outbound
 * webhooks (issue 14) only once no lesson is waiting, within what is left. Endpoint leases keep
 * runs apart.
 */
async function cronPass(deps: AppDeps): Promise<void> {
  const report = await runDispatchAll(deps);
  if (report.stoppedBy !== "done") return;
  let left = deps.config.dispatchBudget.maxSubrequests - report.calls;
  if (left >= HOUSEKEEPING_CALLS) {
    await runHousekeeping(deps);
    left -= HOUSEKEEPING_CALLS;
  }
  try {
    const webhooks = await runWebhookDeliveries(deps, { maxSubrequests: left });
    logger.info("webhook_pass", { ...webhooks });
  } catch (error) {
    logger.error("webhook_pass_failed", errorFields(error));
  }
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
