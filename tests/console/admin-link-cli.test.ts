import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../src/app";
import { loadConfig } from "../../src/config";
import { openDatabase } from "../../src/node-deps";
import { silentLogger } from "../../src/lib/logger";
import { form } from "../support/test-app";
import { sessionCookieFrom } from "../support/console";

const run = promisify(execFile);
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "course-admin-link-"));
  env = { ...process.env, DATABASE_URL: `file:${join(dir, "cli.db")}`, OUTBOX_DIR: join(dir, "outbox"), NODE_ENV: "development", ADMIN_EMAILS: "ops@example.com", APP_URL: "http://localhost:3000" };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (...args: string[]) => run(process.execPath, ["--import", "tsx", "src/cli/admin-link.ts", ...args], { env });

describe("npm run admin:link", () => {
  it("prints a one-time link that signs the operator in, and refuses an address that is not an operator", async () => {
    const { stdout } = await cli("OPS@example.com");
    const link = stdout.match(/http:\/\/localhost:3000\/admin\/sign-in\?token=\S+/)?.[0];
    expect(link).toBeDefined();

    const refused = await cli("someone@example.com").catch((error: { code: number; stderr: string }) => error);
    expect(refused).toMatchObject({ code: 1 });
    expect((refused as { stderr: string }).stderr).toContain("not in ADMIN_EMAILS");

    const { db, client } = await openDatabase(env.DATABASE_URL!);
    try {
      const config = loadConfig({ ...env } as Record<string, string>);
      const app = createApp({ db, mailer: { kind: "memory", send: async () => ({ ok: true, id: "x" }), sendBatch: async () => ({ ok: true, ids: [] }) }, clock: Date.now, config, logger: silentLogger });
      const res = await app.request("/admin/sign-in", form({ token: new URL(link!).searchParams.get("token")! }));
      expect(res.status).toBe(303);
      expect(sessionCookieFrom(res)).toBeDefined();
    } finally {
      client.close();
    }
  }, 60_000);
});
