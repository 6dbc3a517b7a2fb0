/** Node-side wiring shared by the server and the CLI: embedded libSQL, migrations, mail transport. */
import { createClient, type Client } from "@libsql/client";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { AppDeps } from "./app-env";
import { ConfigError, loadConfig, type Config } from "./config";
import { createDb, type Db } from "./db/client";
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

/**
 * Opens a libSQL database from Node. For an embedded file: WAL, so readers don't block the writer,
 * and a busy timeout, so a second process (the CLI beside the server) waits instead of failing.
 */
export async function openDatabase(url: string, authToken?: string): Promise<{ db: Db; client: Client }> {
  ensureDatabaseFolder(url);
  const embedded = url.startsWith("file:");
  // One connection for an embedded file, so the pragmas below hold for every statement (calls into
  // the native driver are synchronous anyway). WAL with synchronous=NORMAL skips an fsync per
  // commit; the last commits before a power cut may be lost, and the provider's idempotency keys
  // make a lesson re-sent after such a loss a no-op.
  const client = createClient({ url, authToken, timeout: 15_000, ...(embedded && { concurrency: 1 }) });
  if (embedded) {
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("PRAGMA synchronous = NORMAL");
    // "Delete my data" should not leave the person's address in free pages of the file.
    await client.execute("PRAGMA secure_delete = ON");
  }
  return { db: createDb(client), client };
}

/** Builds the dependencies for the Node runtime: embedded or remote libSQL, migrations applied. */
export async function createNodeDeps(config: Config, logger: Logger): Promise<AppDeps> {
  const { db } = await openDatabase(config.database.url, config.database.authToken);
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
