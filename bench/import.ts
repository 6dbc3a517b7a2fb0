import { parse } from "csv-parse/stream";
import { sql } from "drizzle-orm";
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
 * mailer that only counts). The body is generated as a stream (no Content-Length), as a large
 * browser upload arrives. Beside it, a baseline measured in the same run: the same CSV streamed
 * through csv-parse into a scratch table, 500 rows per insert. A benchmark, not a test.
 */
const N = Number(process.argv[2] ?? 100_000);
const MODE = process.argv[3] === "confirm" ? "confirm" : "consented";

let peakRss = process.memoryUsage().rss;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 50);

const encoder = new TextEncoder();
const BOUNDARY = "----bench-import-boundary";

/** The CSV of n rows, 1,000 lines per chunk, made as it is read: the bench holds no whole file. */
function csvStream(n: number, prefix = "", suffix = ""): ReadableStream<Uint8Array> {
  let i = -1;
  return new ReadableStream({
    pull(controller) {
      if (i >= n) return controller.close();
      const lines: string[] = [];
      if (i === -1) lines.push(`${prefix}email,first_name,time_zone`), i++;
      for (const end = Math.min(n, i + 1000); i < end; i++) lines.push(i % 50 === 7 ? `broken-${i},Name,UTC` : `person${i}@example.com,Person,Europe/Berlin`);
      controller.enqueue(encoder.encode(lines.join("\n") + (i >= n ? suffix : "\n")));
    },
  });
}

/** A multipart/form-data body with the CSRF field, then the CSV as the file field, streamed. */
function multipart(csrf: string, n: number): ReadableStream<Uint8Array> {
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${FORM_TOKEN_FIELD}"\r\n\r\n${csrf}\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="bench.csv"\r\nContent-Type: text/csv\r\n\r\n`;
  return csvStream(n, head, `\r\n--${BOUNDARY}--\r\n`);
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

/** Baseline: csv-parse over the same stream, plain rows into a scratch table, 500 per insert. */
async function baseline(db: Awaited<ReturnType<typeof openDatabase>>["db"]): Promise<{ ms: number; peak: number }> {
  await db.run(sql`create table scratch (n integer primary key, cells text not null)`);
  peakRss = process.memoryUsage().rss;
  const start = performance.now();
  const reader = csvStream(N).pipeThrough(parse({ trim: true, relax_column_count: true })).getReader();
  let batch: string[] = [];
  let n = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    await db.run(sql`insert into scratch (n, cells) values ${sql.join(batch.map((cells) => sql`(${++n}, ${cells})`), sql`, `)}`);
    batch = [];
  };
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    batch.push(JSON.stringify(r.value));
    if (batch.length >= 500) await flush();
  }
  await flush();
  const ms = performance.now() - start;
  await db.run(sql`drop table scratch`);
  return { ms, peak: peakRss };
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
  const base = await baseline(db);
  const rssBefore = process.memoryUsage().rss;
  peakRss = rssBefore;

  const start = performance.now();
  const uploaded = await app.request("/admin/imports", {
    method: "POST",
    body: multipart(csrf, N),
    headers: { cookie, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    duplex: "half",
  } as RequestInit);
  const job = uploaded.headers.get("location");
  if (uploaded.status !== 303 || !job) throw new Error(`upload answered ${uploaded.status}`);
  const uploadMs = performance.now() - start;
  const uploadPeak = peakRss;
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
  const rate = (ms: number) => `${Math.round(N / (ms / 1000)).toLocaleString("en")} rows/s`;
  console.log(`baseline (csv-parse into a scratch table) of ${N.toLocaleString("en")} rows: ${(base.ms / 1000).toFixed(1)} s, ${rate(base.ms)}, peak RSS ${mb(base.peak)}`);
  console.log(`upload and staging: ${(uploadMs / 1000).toFixed(1)} s, ${rate(uploadMs)}, peak RSS ${mb(uploadPeak)}`);
  console.log(`whole import: ${(totalMs / 1000).toFixed(1)} s in ${requests} work requests, ${rate(totalMs)}; ${mailed} confirmation emails`);
  console.log(`peak RSS ${mb(peakRss)} (${mb(rssBefore)} before the upload)`);
  client.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
