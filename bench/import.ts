import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSession } from "../src/admin/sessions";
import { createApp } from "../src/app";
import { loadConfig } from "../src/config";
import { applyMigrations } from "../src/db/migrate";
import { FORM_TOKEN_FIELD, signFormToken } from "../src/lib/form-token";
import { silentLogger } from "../src/lib/logger";
import type { Mailer } from "../src/mail/mailer";
import { openDatabase } from "../src/node-deps";

/**
 * `npm run bench:import [-- N [confirm|consented]]`: imports a CSV of N rows (default 100,000; 2 %
 * of them invalid) through the console's own routes, upload → mapping → chunks, as the page's
 * script drives it, and prints rows per second and the process's peak RSS. Mode "consented"
 * (default) adds people at once; "confirm" renders and batches a confirmation email per row (to a
 * mailer that only counts). A benchmark, not a test.
 */
const N = Number(process.argv[2] ?? 100_000);
const MODE = process.argv[3] === "confirm" ? "confirm" : "consented";

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

function csv(n: number): string {
  const lines = ["email,first_name,time_zone"];
  for (let i = 0; i < n; i++) lines.push(i % 50 === 7 ? `broken-${i},Name,UTC` : `person${i}@example.com,Person,Europe/Berlin`);
  return lines.join("\n");
}

const dir = mkdtempSync(join(tmpdir(), "bench-import-"));
try {
  const { db, client } = await openDatabase(`file:${join(dir, "i.db")}`);
  await applyMigrations(db);
  let mailed = 0;
  const mailer: Mailer = {
    kind: "memory",
    send: async () => ({ ok: true, id: "x" }),
    sendBatch: async (emails) => ((mailed += emails.length), { ok: true, ids: emails.map((_, i) => String(i)) }),
  };
  const config = loadConfig({ APP_URL: "http://localhost:3000", APP_SECRET: "bench-secret-bench-secret-bench-secret-00", ADMIN_EMAILS: "ops@example.com", MAIL_POSTAL_ADDRESS: "1 Bench St" });
  const app = createApp({ db, mailer, clock: Date.now, config, logger: silentLogger });
  const { id, session } = await createSession(db, "ops@example.com", Date.now());
  const csrf = await signFormToken(config.appSecret, session.idHash, "admin", Date.now());
  const cookie = `console_session=${id}`;
  const rssBefore = process.memoryUsage().rss;

  const start = performance.now();
  const body = new FormData();
  body.set(FORM_TOKEN_FIELD, csrf);
  body.set("file", new File([csv(N)], "bench.csv", { type: "text/csv" }));
  const uploaded = await app.request("/admin/imports", { method: "POST", body, headers: { cookie } });
  const job = uploaded.headers.get("location");
  if (uploaded.status !== 303 || !job) throw new Error(`upload answered ${uploaded.status}`);
  const uploadMs = performance.now() - start;
  const form = (fields: Record<string, string>) => ({
    method: "POST",
    headers: { cookie, accept: "application/json", "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ [FORM_TOKEN_FIELD]: csrf, ...fields }).toString(),
  });
  await app.request(`${job}/start`, form({ email: "0", firstName: "1", timeZone: "2", mode: MODE, sourceNote: "Benchmark list" }));
  let progress = { status: "running", done: 0, total: N };
  let requests = 0;
  while (progress.status !== "done") {
    progress = (await (await app.request(`${job}/work`, form({}))).json()) as typeof progress;
    requests++;
  }
  const totalMs = performance.now() - start;
  clearInterval(sampler);
  console.log(`\nbench:import  node ${process.version}  mode ${MODE}`);
  console.log(`upload and staging of ${N.toLocaleString("en")} rows: ${(uploadMs / 1000).toFixed(1)} s`);
  console.log(`whole import: ${(totalMs / 1000).toFixed(1)} s in ${requests} work requests, ${Math.round(N / (totalMs / 1000)).toLocaleString("en")} rows/s; ${mailed} confirmation emails`);
  console.log(`peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MB (${(rssBefore / 2 ** 20).toFixed(0)} MB before the upload)`);
  client.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
