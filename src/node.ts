import { serve } from "@hono/node-server";
import { createApp } from "./app";
import { runDispatchAll } from "./drip/dispatch-all";
import { runWebhookDeliveries } from "./outbound/deliver";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { Server } from "node:http";
import type { AppDeps } from "./app-env";
import { runHousekeeping } from "./db/retention";
import { clientAddress } from "./lib/client-address";
import { createLogger, errorFields } from "./lib/logger";
import { createPassRunner } from "./lib/pass-runner";
import { createNodeDeps, loadConfigOrExit } from "./node-deps";
import { devOutboxRoutes } from "./routes/dev-outbox";

/** The Node entry: `npm start`. Serves the app, applies migrations, runs the dispatcher on a timer. */
async function main() {
  const logger = createLogger();
  const config = loadConfigOrExit(process.env);
  for (const warning of config.warnings) logger.warn("config_warning", { message: warning });

  // Per-client signup limits use the socket's address. Behind a reverse proxy every client would
  // share the proxy's address: pass the address that proxy vouches for instead.
  const deps: AppDeps = {
    ...(await createNodeDeps(config, logger)),
    clientIp: (c) => clientAddress(config.trustProxy, c.req.header("x-forwarded-for"), () => getConnInfo(c).remote.address),
    compress: true,
    // A confirmation that lands mid-pass gets one more pass right after it, not the next tick.
    onConfirmed: () => passes.request(),
  };
  const app = createApp(deps);
  if (!config.production && deps.mailer.kind === "outbox") app.route("/dev/outbox", devOutboxRoutes(config.outboxDir));

  const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
    console.log(`\n  Clear Skin from the Inside Out is running.\n`);
    console.log(`  Site:    ${config.appUrl}/`);
    if (deps.mailer.kind === "outbox") console.log(`  Outbox:  ${config.appUrl}/dev/outbox   (emails are written to ${config.outboxDir})`);
    console.log(`  Health:  ${config.appUrl}/healthz`);
    console.log(`  Listening on port ${info.port}; database ${config.database.url.startsWith("file:") ? config.database.url : "(remote libSQL)"}\n`);
  });

  // The dispatcher on a timer. Passes never overlap within this process; other processes (the
  // CLI, a second server) are kept apart by the database leases.
  const shuttingDown = new AbortController();
  const passes = createPassRunner(
    async () => {
      await runDispatchAll(deps, { signal: shuttingDown.signal });
      await runHousekeeping(deps);
      // Outbound webhooks after the lessons, in the same non-overlapping runner (issue 14).
      await runWebhookDeliveries(deps).catch((error: unknown) => logger.error("webhook_pass_failed", errorFields(error)));
    },
    (error) => logger.error("dispatch_failed", errorFields(error)),
  );
  const timer = setInterval(() => passes.request(), config.tickIntervalSeconds * 1000);
  passes.request();

  // SIGTERM (systemd stop, a deploy) or Ctrl-C: stop taking requests and claiming, let the pass
  // record the batch already with the provider and release the rows it claimed but did not send
  // (instead of leaving them leased for five minutes), then exit. A second signal exits at once.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.info("shutdown", { signal });
    clearInterval(timer);
    shuttingDown.abort();
    Promise.all([passes.stop(), closeServer(server, 10_000)]).then(
      () => {
        logger.info("shutdown_complete");
        process.exit(0);
      },
      (error: unknown) => {
        logger.error("shutdown_failed", errorFields(error));
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

/**
 * Stops accepting connections, closes idle keep-alive ones, lets requests in progress finish, and
 * after `graceMs` (milliseconds) cuts whatever is still open (a client that never finishes).
 */
function closeServer(server: ReturnType<typeof serve>, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    const http = server as Partial<Pick<Server, "closeIdleConnections" | "closeAllConnections">>;
    const cut = setTimeout(() => http.closeAllConnections?.(), graceMs);
    cut.unref();
    server.close(() => {
      clearTimeout(cut);
      resolve();
    });
    http.closeIdleConnections?.();
  });
}

main().catch((error: unknown) => {
  console.error("Failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
