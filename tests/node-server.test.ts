import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { buildNode } from "../scripts/build-node.mjs";
import { startServerProcess, type ServerProcess } from "../scripts/server-process.mjs";
import { applyMigrations } from "../src/db/migrate";
import { openDatabase } from "../src/node-deps";
import { createSubscribers } from "./support/factories";
import { startFakeResend, type FakeResend } from "./support/fake-resend";

/**
 * The Node server as a real process, started the way `npm run dev` (tsx) and `npm start` (the
 * esbuild bundle) start it, on a temporary database and a free port, and stopped with SIGTERM as
 * systemd or a deploy stops it. Limits here are generous timeouts against hanging, not measurements.
 */

let dir: string;
let resend: FakeResend;
let server: ServerProcess | undefined;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "course-node-"));
  resend = await startFakeResend();
});
afterEach(async () => {
  await server?.stop("SIGKILL");
  server = undefined;
  await resend.close();
  rmSync(dir, { recursive: true, force: true });
});

function env(): Record<string, string> {
  return {
    DATABASE_URL: `file:${join(dir, "course.db")}`,
    OUTBOX_DIR: join(dir, "outbox"),
    RESEND_API_KEY: "re_test_key",
    RESEND_BASE_URL: resend.url,
    NODE_ENV: "development",
    TICK_INTERVAL_SECONDS: "3600",
  };
}

const tsxServer = () => startServerProcess({ command: process.execPath, args: ["--import", "tsx", "src/node.ts"], env: env() });

async function sqlCount(sql: string): Promise<number> {
  const { client } = await openDatabase(`file:${join(dir, "course.db")}`);
  try {
    return Number((await client.execute(sql)).rows[0]![0]);
  } finally {
    client.close();
  }
}

describe("the Node server process", () => {
  it("stopped by SIGTERM in the middle of a pass, exits 0 leaving no row leased and nobody mailed twice", async () => {
    const { db, client } = await openDatabase(`file:${join(dir, "course.db")}`);
    await applyMigrations(db);
    const people = await createSubscribers(db, 250, Date.now() - 60_000);
    client.close();
    // The provider is slow with the first batch: the pass holds claimed rows while it waits.
    resend.slowNext(2_000);

    server = await tsxServer();
    await server.waitHealthy();
    // Stop while the pass holds rows, or (on a machine slow enough to miss that) whenever it is:
    // the outcome must be the same either way.
    const deadline = Date.now() + 60_000;
    while ((await sqlCount("select count(*) from enrollments where lease_id is not null")) === 0 && resend.accepted < 250 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    server.signal("SIGTERM");
    const exit = await server.exited;

    expect(exit, server.output()).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('"event":"shutdown_complete"');
    expect(await sqlCount("select count(*) from enrollments where lease_id is not null")).toBe(0);
    const sent = await sqlCount("select count(*) from deliveries where status = 'sent'");
    expect(sent).toBe(resend.emails.length);
    expect(sent).toBeGreaterThan(0);
    expect(await sqlCount("select count(*) from enrollments where next_lesson = 1")).toBe(250 - sent);
    const recipients = resend.emails.map((email) => email.to[0]);
    expect(new Set(recipients).size).toBe(recipients.length);
    expect(recipients.every((address) => people.some((p) => p.email === address))).toBe(true);
  }, 120_000);

  it("built by npm run build, serves /healthz on a fresh database and exits 0 on SIGTERM", async () => {
    // Built into its own folder (two levels below the project root, as dist-node/server is) so a
    // developer's dist-node/server is left alone.
    const outDir = join(process.cwd(), "dist-node", `test-${process.pid}`);
    try {
      await buildNode(outDir);
      server = await startServerProcess({ command: process.execPath, args: [join(outDir, "node.js")], env: env() });
      await server.waitHealthy();
      const home = await fetch(`${server.url}/`);
      expect(home.status).toBe(200);
      expect(await home.text()).toContain("Clear Skin");
      server.signal("SIGTERM");
      expect(await server.exited, server.output()).toEqual({ code: 0, signal: null });
      // The bundle found migrations/ in the project folder and applied it to the new file.
      expect(await sqlCount("select count(*) from __drizzle_migrations")).toBeGreaterThan(0);
      expect(await sqlCount("select count(*) from subscribers")).toBe(0);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  }, 120_000);
});
