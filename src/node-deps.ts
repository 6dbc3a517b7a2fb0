/** Node-side wiring shared by the server and the CLI: embedded libSQL, migrations, mail transport. */
import { createClient, type Client } from "@libsql/client";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type { AppDeps } from "./app-env";
import { ConfigError, loadConfig, type Config } from "./config";
import { createDb, type Db } from "./db/client";
import { applyMigrations } from "./db/migrate";
import { errorFields, type Logger } from "./lib/logger";
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
    // Write the WAL back every 10,000 pages (about 40 MB) instead of SQLite's 1,000: a page a pass
    // touches twice (a lease, then the advance) is then usually written back once. At 1,000,000
    // subscribers this took about a tenth off a pass's CPU, its final write-back included
    // (`npm run bench:scale`). https://www.sqlite.org/pragma.html#pragma_wal_autocheckpoint
    await client.execute("PRAGMA wal_autocheckpoint = 10000");
    // "Delete my data" should not leave the person's address in free pages of the file.
    await client.execute("PRAGMA secure_delete = ON");
  }
  return { db: createDb(client), client };
}

/**
 * After "delete my data": copies the WAL into the database file and truncates the WAL to zero
 * bytes, so the deleted rows' old page images (address, name) do not linger in `<db>-wal` until
 * the next automatic checkpoint. With `secure_delete` on, the pages written back hold zeros where
 * the rows were (https://www.sqlite.org/pragma.html#pragma_wal_checkpoint). A reader in another
 * process (the CLI) can keep the checkpoint from finishing: logged, and the next delete or
 * automatic checkpoint completes it. Never throws: the deletion itself is already committed.
 */
export function walTruncator(client: Client, logger: Logger): () => Promise<void> {
  return async () => {
    try {
      const result = await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      // One row: busy (1 if it could not finish), WAL frames, frames checkpointed.
      if (Number(result.rows[0]?.[0] ?? 0) !== 0) logger.warn("wal_checkpoint_busy", { after: "erase" });
    } catch (error) {
      logger.error("wal_checkpoint_failed", errorFields(error));
    }
  };
}

/** Builds the dependencies for the Node runtime: embedded or remote libSQL, migrations applied. */
export async function createNodeDeps(config: Config, logger: Logger): Promise<AppDeps> {
  const { db, client } = await openDatabase(config.database.url, config.database.authToken);
  await applyMigrations(db);
  const embedded = config.database.url.startsWith("file:");
  return { db, mailer: createNodeMailer(config), clock: Date.now, config, logger, ...(embedded && { afterErase: walTruncator(client, logger) }) };
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
