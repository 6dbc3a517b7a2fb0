import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { migrate } from "drizzle-orm/libsql/migrator";
import { sign } from "hono/jwt";
import type { Db } from "../../src/db/client";
import { MIGRATIONS_FOLDER } from "../../src/db/migrate";
import { openDatabase } from "../../src/node-deps";

/** The project's migration tags up to and including `lastTag`, in order. Throws for an unknown tag. */
export function migrationTagsThrough(lastTag: string): string[] {
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as { entries: { tag: string }[] };
  const end = journal.entries.findIndex((entry) => entry.tag === lastTag);
  if (end < 0) throw new Error(`no migration ${lastTag}`);
  return journal.entries.slice(0, end + 1).map((entry) => entry.tag);
}

/**
 * A migrations folder (under `dir`) holding the project's migrations up to and including
 * `lastTag`, as the release that shipped them had them: a database migrated from it is a database
 * that release made. Returns the folder and the tags it holds, in order. Throws for an unknown tag.
 */
export function releaseMigrations(dir: string, lastTag: string): { folder: string; tags: string[] } {
  const folder = join(dir, `migrations-through-${lastTag}`);
  mkdirSync(join(folder, "meta"), { recursive: true });
  const tags = migrationTagsThrough(lastTag);
  const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as { entries: { tag: string }[] };
  journal.entries = journal.entries.filter((entry) => tags.includes(entry.tag));
  writeFileSync(join(folder, "meta/_journal.json"), JSON.stringify(journal));
  for (const tag of tags) copyFileSync(join(MIGRATIONS_FOLDER, `${tag}.sql`), join(folder, `${tag}.sql`));
  return { folder, tags };
}

/**
 * An embedded database, in a fresh temporary folder, as the release whose last migration is
 * `lastTag` made it (`releaseMigrations`), opened as `npm start` opens one. `close` closes it and
 * removes the folder.
 */
export async function releaseDatabase(lastTag: string): Promise<{ db: Db; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), "course-release-"));
  const { db, client } = await openDatabase(`file:${join(dir, "old.db")}`);
  const close = () => {
    client.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await migrate(db, { migrationsFolder: releaseMigrations(dir, lastTag).folder });
  } catch (error) {
    close();
    throw error;
  }
  return { db, close };
}

/** The claims earlier releases put in their link tokens (short names, as they were written). */
export interface ReleaseClaims {
  sub: string;
  /** The purpose: confirm, manage, unsubscribe, lesson, feedback. */
  aud: string;
  /** Confirmation nonce. */
  n?: number;
  /** Lesson number. */
  l?: number;
  /** Course slug (from the multi-course release on). */
  c?: string;
  /** Enrollment run (feedback links). */
  r?: number;
  /** Expiry, seconds since the epoch. */
  exp?: number;
}

/**
 * A link token exactly as every release up to the one-token-per-email change wrote it: an HS256
 * JWT over the app secret. Frozen here rather than made with today's src/lib, so a change to token
 * reading that would break mail already in people's inboxes fails the migration tests.
 */
export async function releaseToken(secret: string, claims: ReleaseClaims): Promise<string> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
  return sign({ ...claims }, key, "HS256");
}
