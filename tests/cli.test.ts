import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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

/**
 * Each command is a real process (tsx compiling the source), so each call costs a second or more and
 * much more on a busy machine: the tests make few calls, and their limits only guard against a hang.
 * The whole course walk, lesson by lesson, is the dispatcher's test (tests/drip); here the command
 * line is under test: migrate, --dry-run, --now, and the refusal of a bad --now.
 */
describe("operator commands", () => {
  it("db:migrate applies the migrations, and tick --now sends lesson 1 at once and lesson 2 at 08:00 Kolkata time, not a minute before", async () => {
    const migrated = await cli("migrate");
    expect(migrated.stdout).toContain("Migrations from");

    const start = Date.parse("2026-03-02T12:00:00Z");
    const { db, client } = await openDatabase(env.DATABASE_URL!);
    await createSubscriber(db, start, { email: "cli@example.com", timeZone: "Asia/Kolkata" });
    client.close();

    const dry = await cli("tick", "--now", "2026-03-02T12:00:00Z", "--dry-run");
    expect(dry.stdout).toContain("1 lesson(s) due");
    expect(dry.stdout).not.toContain("cli@example.com");

    expect((await cli("tick", "--now", "2026-03-02T12:00:00Z")).stdout).toContain("Sent 1,");
    // Lesson 2 comes two days later at 08:00 in Kolkata, which is 02:30 UTC.
    expect((await cli("tick", "--now", "2026-03-04T02:29:00Z")).stdout).toContain("Sent 0,");
    expect((await cli("tick", "--now", "2026-03-04T02:30:00Z")).stdout).toContain("Sent 1,");

    const files = readdirSync(env.OUTBOX_DIR!).sort();
    expect(files).toHaveLength(2);
    const emails = files.map((file) => JSON.parse(readFileSync(join(env.OUTBOX_DIR!, file), "utf8")));
    expect(emails.map((email) => (email.subject as string).match(/^Lesson (\d)/)?.[1]).sort()).toEqual(["1", "2"]);
    const first = emails.find((email) => (email.subject as string).startsWith("Lesson 1"));
    expect(first).toMatchObject({ to: "cli@example.com", headers: { "List-Unsubscribe-Post": "List-Unsubscribe=One-Click" } });
    expect(first.html).toBeTypeOf("string");
    expect(first.text).toBeTypeOf("string");
  }, 180_000);

  it("tick refuses a --now that is not an instant, with usage", async () => {
    await expect(cli("tick", "--now", "yesterday")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("ISO-8601") });
  }, 60_000);
});
