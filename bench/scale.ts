import type { Client } from "@libsql/client";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AppDeps } from "../src/app-env";
import { applyMigrations } from "../src/db/migrate";
import { runHousekeeping } from "../src/db/retention";
import { runDispatchAll } from "../src/drip/dispatch-all";
import { silentLogger } from "../src/lib/logger";
import { createResendMailer } from "../src/mail/resend";
import { openDatabase } from "../src/node-deps";
import { flushToDisk, populationCounts, seedPopulation } from "./population";
import { benchConfig, measurePhase, ok, runChild, startFakeResendProcess, type PhaseFigures } from "./support";

/**
 * `npm run bench:scale [-- DUE [SMALL LARGE]]`: one dispatcher pass (every course, then
 * housekeeping, as the Node timer runs it, then the write-back of its WAL into the database file,
 * so that no cost is left for after the measurement) with DUE due (default 10,000) among SMALL (100,000) and
 * among LARGE (1,000,000) subscribers. Each size runs in a fresh child process with a fresh libSQL
 * file seeded by SQL (bench/population.ts); the fake Resend answers at once from its own process.
 * Target: the large pass costs ≤ 1.3× the small one (wall time and CPU), i.e. nothing in a pass
 * grows with the number of subscribers, only with the number due. `PROFILE=1` prints the time
 * spent per statement. Run twice per size, alternating, and the better of the two counts: the
 * machine is shared and noisy, so ratios within one run are what to judge by.
 */
const TARGET = 1.3;

interface ScaleFigures extends PhaseFigures {
  seedSeconds: number;
  subscribers: number;
  enrollments: number;
  deliveries: number;
  due: number;
}

/** Times every statement the pass sends, keyed by its first words (PROFILE=1). */
function profile(client: Client): Map<string, { ms: number; n: number }> {
  const spent = new Map<string, { ms: number; n: number }>();
  const keyOf = (stmt: unknown) => (typeof stmt === "string" ? stmt : (stmt as { sql: string }).sql).replace(/\s+/g, " ").slice(0, 110);
  const add = (key: string, ms: number) => {
    const entry = spent.get(key) ?? { ms: 0, n: 0 };
    entry.ms += ms;
    entry.n++;
    spent.set(key, entry);
  };
  const execute = client.execute.bind(client);
  const batch = client.batch.bind(client);
  client.execute = (async (stmt: never) => {
    const t = performance.now();
    try {
      return await execute(stmt);
    } finally {
      add(keyOf(stmt), performance.now() - t);
    }
  }) as Client["execute"];
  client.batch = (async (stmts: unknown[], mode?: never) => {
    const t = performance.now();
    try {
      return await batch(stmts as never, mode);
    } finally {
      add(`batch[${stmts.length}]: ${keyOf(stmts[0])}`, performance.now() - t);
    }
  }) as Client["batch"];
  return spent;
}

async function child(subscribers: number, due: number, fakeUrl: string): Promise<ScaleFigures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-scale-"));
  try {
    const file = join(dir, "scale.db");
    const { db, client } = await openDatabase(`file:${file}`);
    await applyMigrations(db);
    const now = Date.now();
    const seedMs = await seedPopulation(client, { subscribers, due, now });
    flushToDisk(file);
    // An experiment knob: SQLite's page cache for the pass, in KiB (default: SQLite's 2 MiB).
    if (process.env.BENCH_CACHE_KIB) await client.execute(`pragma cache_size = -${Number(process.env.BENCH_CACHE_KIB)}`);
    const counts = await populationCounts(client, now);
    const spent = process.env.PROFILE ? profile(client) : null;
    const deps: AppDeps = { db, mailer: createResendMailer({ apiKey: "re_bench", baseUrl: fakeUrl }), clock: () => now, config: benchConfig(), logger: silentLogger };
    const figures = await measurePhase(async () => {
      const report = await runDispatchAll(deps, { budget: { maxEmails: Number.MAX_SAFE_INTEGER, maxMs: 3_600_000 } });
      await runHousekeeping(deps);
      // The pass's write-back to the database file counts too, whenever SQLite would have done it.
      await client.execute("PRAGMA wal_checkpoint(TRUNCATE)");
      if (report.sent !== due) throw new Error(`the pass sent ${report.sent} of ${due} (stopped by ${report.stoppedBy})`);
      return report.sent;
    });
    if (spent) {
      const top = [...spent.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15);
      for (const [key, { ms, n }] of top) console.error(`  ${ms.toFixed(0).padStart(6)} ms ${String(n).padStart(5)}×  ${key}`);
    }
    client.close();
    return { ...figures, ...counts, seedSeconds: seedMs / 1000 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const due = Number(process.argv[2] ?? 10_000);
  const sizes = [Number(process.argv[3] ?? 100_000), Number(process.argv[4] ?? 1_000_000)];
  const fake = await startFakeResendProcess(0);
  try {
    const best = new Map<number, ScaleFigures>();
    for (let round = 0; round < 2; round++) {
      for (const size of sizes) {
        const f = await runChild<ScaleFigures>("bench/scale.ts", ["--child", String(size), String(due), fake.url]);
        const seen = best.get(size);
        if (!seen || f.seconds < seen.seconds) best.set(size, { ...f, cpuMicros: seen ? Math.min(seen.cpuMicros, f.cpuMicros) : f.cpuMicros });
        else best.set(size, { ...seen, cpuMicros: Math.min(seen.cpuMicros, f.cpuMicros) });
        console.error(`  round ${round + 1}: ${size} subscribers: pass ${f.seconds.toFixed(2)} s, CPU ${(f.cpuMicros / 1e6).toFixed(2)} s (seeded in ${f.seedSeconds.toFixed(1)} s)`);
      }
    }
    console.log(`\nbench:scale  ${due} due  node ${process.version}  (best of 2 per size; fresh process and libSQL file each)\n`);
    console.log(`${"subscribers".padStart(12)} ${"enrollments".padStart(12)} ${"deliveries".padStart(11)} ${"due".padStart(7)} ${"seed s".padStart(7)} ${"pass s".padStart(7)} ${"CPU s".padStart(7)} ${"µs/email".padStart(9)}`);
    for (const size of sizes) {
      const f = best.get(size)!;
      console.log(
        `${String(f.subscribers).padStart(12)} ${String(f.enrollments).padStart(12)} ${String(f.deliveries).padStart(11)} ${String(f.due).padStart(7)} ${f.seedSeconds.toFixed(1).padStart(7)} ${f.seconds.toFixed(2).padStart(7)} ${(f.cpuMicros / 1e6).toFixed(2).padStart(7)} ${(f.cpuMicros / f.emails).toFixed(0).padStart(9)}`,
      );
    }
    const [small, large] = sizes.map((s) => best.get(s)!) as [ScaleFigures, ScaleFigures];
    const wall = large.seconds / small.seconds;
    const cpu = large.cpuMicros / small.cpuMicros;
    console.log(`\n${sizes[1]} / ${sizes[0]} subscribers: wall time ${wall.toFixed(2)}×, CPU ${cpu.toFixed(2)}× (target ≤ ${TARGET}×) ${ok(wall <= TARGET && cpu <= TARGET)}`);
  } finally {
    fake.stop();
  }
}

if (process.argv[2] === "--child") {
  const [subscribers, due, url] = process.argv.slice(3);
  console.log(JSON.stringify(await child(Number(subscribers), Number(due), url!)));
} else {
  await main();
}
