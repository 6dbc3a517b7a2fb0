import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { openDatabase } from "../../src/node-deps";
import { silentLogger } from "../../src/lib/logger";
import { testConfig } from "../support/test-app";

const run = promisify(execFile);
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "course-key-cli-"));
  env = { ...process.env, DATABASE_URL: `file:${join(dir, "cli.db")}`, NODE_ENV: "development" };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", "src/cli/admin-key.ts", ...args], { env });

/** Real processes (a second or more each): few calls, and limits that only guard against a hang. */
describe("npm run admin:key", () => {
  it("creates a key shown once, lists it without the key, and revokes it by prefix; the API honours each step", { timeout: 120_000 }, async () => {
    const created = await cli("create", "CRM sync", "--scope", "write");
    const key = created.stdout.trim().split("\n").at(-1)!;
    expect(key).toMatch(/^ck_/);
    const listed = await cli("list");
    expect(listed.stdout).toContain("CRM sync");
    expect(listed.stdout).toContain(key.slice(0, 11));
    expect(listed.stdout).not.toContain(key);

    const { db, client } = await openDatabase(env.DATABASE_URL!);
    const app = createApp({ db, mailer: { send: async () => ({ ok: true, id: "x" }) } as never, clock: Date.now, config: testConfig(), logger: silentLogger });
    const call = () => app.request("/api/v1/stats", { headers: { authorization: `Bearer ${key}` } });
    expect((await call()).status).toBe(200);
    await cli("revoke", key.slice(0, 11));
    expect((await call()).status).toBe(401);
    client.close();
    expect((await cli("list")).stdout).toContain("revoked");
  });

  it("refuses a bad scope and a missing name with usage and exit code 2", { timeout: 60_000 }, async () => {
    await expect(cli("create", "x", "--scope", "admin")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("--scope") });
    await expect(cli("create")).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining("Usage") });
  });
});
