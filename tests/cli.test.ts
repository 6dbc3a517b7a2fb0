import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LESSON_COUNT } from "../src/course";
import { openDatabase } from "../src/node-deps";
import { createSubscriber } from "./support/factories";

const run = promisify(execFile);
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "course-cli-"));
  env = { ...process.env, DATABASE_URL: `file:${join(dir, "cli.db")}`, OUTBOX_DIR: join(dir, "outbox"), NODE_ENV: "development" };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (script: string, ...args: string[]) => run(process.execPath, ["--import", "tsx", `src/cli/${script}.ts`, ...args], { env });

describe("operator commands", () => {
  it("db:migrate applies the migrations, and tick --now walks a subscriber through the course at 08:00 Kolkata time", async () => {
    const migrated = await cli("migrate");
    expect(migrated.stdout).toContain("Migrations from");

    const start = Date.parse("2026-03-02T12:00:00Z");
    const { db, client } = await openDatabase(env.DATABASE_URL!);
    await createSubscriber(db, start, { email: "cli@example.com", timeZone: "Asia/Kolkata" });
    client.close();

    const dry = await cli("tick", "--now", "2026-03-02T12:00:00Z", "--dry-run");
    expect(dry.stdout).toContain("1 lesson(s) due");
    expect(dry.stdout).not.toContain("cli@example.com");

    // 08:00 in Kolkata is 02:30 UTC; lessons follow the course's day offsets.
    const instants = ["2026-03-02T12:00:00Z", "2026-03-04T02:30:00Z", "2026-03-06T02:30:00Z", "2026-03-09T02:30:00Z", "2026-03-12T02:30:00Z", "2026-03-16T02:30:00Z"];
    for (const now of instants) {
      const early = await cli("tick", "--now", new Date(Date.parse(now) - 60_000).toISOString());
      if (now !== instants[0]) expect(early.stdout).toContain("Sent 0");
      const due = await cli("tick", "--now", now);
      expect(due.stdout).toContain("Sent 1,");
    }
    const files = readdirSync(env.OUTBOX_DIR!).sort();
    expect(files).toHaveLength(LESSON_COUNT);
    const subjects = files.map((file) => JSON.parse(readFileSync(join(env.OUTBOX_DIR!, file), "utf8")).subject as string);
    expect(subjects.map((s) => s.match(/^Lesson (\d)/)?.[1])).toEqual(["1", "2", "3", "4", "5", "6"]);
    const first = JSON.parse(readFileSync(join(env.OUTBOX_DIR!, files[0]!), "utf8"));
    expect(first).toMatchObject({ to: "cli@example.com", headers: { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" } });
    expect(first.html).toBeTypeOf("string");
    expect(first.text).toBeTypeOf("string");
  }, 120_000);

  it("tick refuses a --now that is not an instant, with usage", async () => {
    await expect(cli("tick", "--now", "yesterday")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("ISO-8601") });
  });
});
