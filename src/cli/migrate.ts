import { loadConfigOrExit, openDatabase } from "../node-deps";
import { applyMigrations, MIGRATIONS_FOLDER } from "../db/migrate";

/**
 * `npm run db:migrate`: applies the migrations in migrations/ to DATABASE_URL (the embedded file by
 * default, or a remote libSQL/Turso database with DATABASE_AUTH_TOKEN).
 */
const config = loadConfigOrExit(process.env);
const { url, authToken } = config.database;
const { db, client } = await openDatabase(url, authToken);
try {
  await applyMigrations(db);
  const where = url.startsWith("file:") ? url : new URL(url).host;
  console.log(`Migrations from ${MIGRATIONS_FOLDER} applied to ${where}.`);
} catch (error) {
  console.error(`Migration failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  client.close();
}
