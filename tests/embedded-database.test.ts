import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, expect, it } from "vitest";
import { openDatabase } from "../src/node-deps";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

it("an embedded database file runs in WAL mode, writes the WAL back every 10,000 pages and zeroes deleted rows", async () => {
  const dir = mkdtempSync(join(tmpdir(), "embedded-"));
  dirs.push(dir);
  const { client } = await openDatabase(`file:${join(dir, "course.db")}`);
  const pragma = async (name: string) => (await client.execute(`PRAGMA ${name}`)).rows[0]?.[0];
  try {
    expect(await pragma("journal_mode")).toBe("wal");
    // 1 = NORMAL: no fsync per commit, only at checkpoints.
    expect(await pragma("synchronous")).toBe(1);
    expect(await pragma("wal_autocheckpoint")).toBe(10_000);
    expect(await pragma("secure_delete")).toBe(1);
  } finally {
    client.close();
  }
});
