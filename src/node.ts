import { serve } from "@hono/node-server";
import { createApp } from "./app";
import { runDispatch } from "./drip/dispatch";
import { getConnInfo } from "@hono/node-server/conninfo";
import type { AppDeps } from "./app-env";
import { clientAddress } from "./lib/client-address";
import { createLogger, errorFields } from "./lib/logger";
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
    onConfirmed: () => tick(),
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
  let running: Promise<unknown> | undefined;
  function tick() {
    if (running) return;
    running = runDispatch(deps)
      .catch((error: unknown) => logger.error("dispatch_failed", errorFields(error)))
      .finally(() => (running = undefined));
  }
  const timer = setInterval(tick, config.tickIntervalSeconds * 1000);
  tick();

  const shutdown = () => {
    logger.info("shutdown");
    clearInterval(timer);
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.on("SIGINT", shutdown);
  process.on("SIGTERM", shutdown);
}

main().catch((error: unknown) => {
  console.error("Failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
