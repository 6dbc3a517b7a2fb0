/** Node-side wiring shared by the server and the CLI: embedded libSQL, migrations, mail transport. */
import { createClient } from "@libsql/client";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { AppDeps } from "./app-env";
import { ConfigError, loadConfig, type Config } from "./config";
import { createDb } from "./db/client";
import { applyMigrations } from "./db/migrate";
import type { Logger } from "./lib/logger";
import type { Mailer } from "./mail/mailer";
import { createOutboxMailer } from "./mail/outbox";
import { createResendMailer } from "./mail/resend";

/** The embedded libSQL file needs its folder to exist. */
function ensureDatabaseFolder(url: string) {
  if (!url.startsWith("file:")) return;
  const path = url.slice("file:".length).split("?")[0]!;
  if (path && path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
}

export function createNodeMailer(config: Config): Mailer {
  return config.resend ? createResendMailer(config.resend) : createOutboxMailer(config.outboxDir);
}

/** Builds the dependencies for the Node runtime: embedded or remote libSQL, migrations applied. */
export async function createNodeDeps(config: Config, logger: Logger): Promise<AppDeps> {
  ensureDatabaseFolder(config.database.url);
  const client = createClient({ url: config.database.url, authToken: config.database.authToken });
  const db = createDb(client);
  await applyMigrations(db);
  return { db, mailer: createNodeMailer(config), clock: Date.now, config, logger };
}

export function loadConfigOrExit(env: Record<string, string | undefined>): Config {
  try {
    return loadConfig(env, "node");
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
