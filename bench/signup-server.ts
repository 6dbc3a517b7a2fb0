import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { Hono } from "hono";
import { createApp } from "../src/app";
import type { AppDeps } from "../src/app-env";
import { loadConfig } from "../src/config";
import { clientAddress } from "../src/lib/client-address";
import { newId } from "../src/lib/ids";
import { createLogger } from "../src/lib/logger";
import { createNodeDeps, openDatabase } from "../src/node-deps";

/**
 * One server of `npm run bench:signup`, in its own process so the load generator's CPU is not
 * counted against it: `app` is the product as `npm start` wires it (src/node.ts: embedded libSQL,
 * migrations, socket address for the per-client limit, compression, the real JSON logger; without
 * the dispatcher timer, which has nothing due during a signup run), `baseline` a bare Hono app
 * that parses the same form and inserts one row, over the same server and the same database
 * settings (`openDatabase`: WAL, synchronous=NORMAL, one connection). Prints its URL on the first
 * line of stdout. Configuration comes from the environment (DATABASE_URL, RESEND_*, limits).
 */
const mode = process.argv[2];

async function productApp() {
  const config = loadConfig(process.env, "node");
  const deps: AppDeps = {
    ...(await createNodeDeps(config, createLogger())),
    clientIp: (c) => clientAddress(config.trustProxy, c.req.header("x-forwarded-for"), () => getConnInfo(c).remote.address),
    compress: true,
  };
  return createApp(deps);
}

async function baselineApp() {
  const { client } = await openDatabase(process.env.DATABASE_URL!);
  await client.execute(
    "CREATE TABLE IF NOT EXISTS signups (id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, first_name TEXT, time_zone TEXT NOT NULL, created_at INTEGER NOT NULL)",
  );
  return new Hono().post("/subscribe", async (c) => {
    const body = await c.req.parseBody();
    if (typeof body.email !== "string") return c.text("The email is missing.", 400);
    await client.execute({
      sql: "INSERT INTO signups (id, email, first_name, time_zone, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING",
      args: [newId(), body.email, String(body.firstName ?? ""), String(body.timeZone ?? "UTC"), Date.now()],
    });
    return c.redirect("/check-your-inbox", 303);
  });
}

if (mode !== "app" && mode !== "baseline") throw new Error("usage: signup-server.ts app|baseline");
const app = mode === "app" ? await productApp() : await baselineApp();
serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => console.log(`http://127.0.0.1:${info.port}`));
process.on("SIGTERM", () => process.exit(0));
