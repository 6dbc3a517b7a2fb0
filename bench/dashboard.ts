import { sql } from "drizzle-orm";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createSession } from "../src/admin/sessions";
import { createApp } from "../src/app";
import { loadConfig } from "../src/config";
import { applyMigrations } from "../src/db/migrate";
import { silentLogger } from "../src/lib/logger";
import { openDatabase } from "../src/node-deps";

/**
 * `npm run bench:dashboard [-- N]`: the console dashboard's response time over N subscribers
 * (default 100,000, with ~3 deliveries each), beside a bare `select count(*)` on the same
 * database. Seeded with SQL in batches. Target: under 300 ms. A benchmark, not a test.
 */
const N = Number(process.argv[2] ?? 100_000);
const BATCH = 10_000;
const DAY = 86_400_000;
const RUNS = 15;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

const dir = mkdtempSync(join(tmpdir(), "bench-dashboard-"));
try {
  const { db, client } = await openDatabase(`file:${join(dir, "d.db")}`);
  await applyMigrations(db);
  const now = Date.now();
  const seedStart = performance.now();
  for (let from = 0; from < N; from += BATCH) {
    const to = Math.min(N, from + BATCH);
    // Subscribers over the last 60 days, 80 % confirmed; enrollments in every state; 3 lessons sent each, some opened/clicked.
    await db.run(sql`with recursive k(i) as (select ${from} union all select i + 1 from k where i + 1 < ${to})
      insert into subscribers (id, email, first_name, time_zone, status, created_at, confirmed_at)
      select printf('s%08d', i), printf('reader%d@example.com', i), 'Reader', 'UTC', case when i % 5 = 0 then 'pending' else 'active' end,
        ${now} - (i % 60) * ${DAY} - 1000, case when i % 5 = 0 then null else ${now} - (i % 60) * ${DAY} end from k`);
    await db.run(sql`insert into enrollments (subscriber_id, run, state, next_lesson, next_send_at, started_at, updated_at)
      select id, 1, case cast(substr(id, 2) as integer) % 10 when 1 then 'paused' when 2 then 'completed' when 3 then 'stopped' else 'active' end,
        4, ${now} + (cast(substr(id, 2) as integer) % 48) * 3600000, confirmed_at, ${now}
      from subscribers where confirmed_at is not null and id >= printf('s%08d', ${from}) and id < printf('s%08d', ${to})`);
    for (const lesson of [1, 2, 3]) {
      await db.run(sql`insert into deliveries (id, subscriber_id, run, lesson_number, status, attempts, created_at, sent_at, updated_at, delivered_at, opened_at, clicked_at)
        select subscriber_id || '-' || ${lesson}, subscriber_id, 1, ${lesson}, 'delivered', 1, ${now}, ${now}, ${now}, ${now},
          case when random() % 2 = 0 then ${now} end, case when random() % 5 = 0 then ${now} end
        from enrollments where subscriber_id >= printf('s%08d', ${from}) and subscriber_id < printf('s%08d', ${to})`);
    }
  }
  await db.run(sql`analyze`);
  const seedMs = performance.now() - seedStart;

  const config = loadConfig({ APP_URL: "http://localhost:3000", APP_SECRET: "bench-secret-bench-secret-bench-secret-00", ADMIN_EMAILS: "ops@example.com" });
  const app = createApp({ db, mailer: { kind: "memory", send: async () => ({ ok: true, id: "x" }), sendBatch: async () => ({ ok: true, ids: [] }) }, clock: Date.now, config, logger: silentLogger });
  const { id } = await createSession(db, "ops@example.com", Date.now());
  const headers = { cookie: `console_session=${id}` };

  const dashboard = async () => {
    const res = await app.request("/admin/courses/clear-skin", { headers });
    if (res.status !== 200) throw new Error(`dashboard answered ${res.status}`);
    await res.text();
  };
  await dashboard(); // warm the page cache and the statement cache
  if (process.env.PROFILE) {
    const q = await import("../src/admin/queries");
    for (const [name, fn] of Object.entries({
      daily: () => q.dailyCounts(db, "clear-skin", Date.now()),
      rate: () => q.confirmationRate(db, "clear-skin", Date.now() - 30 * DAY),
      funnel: () => q.lessonFunnel(db, "clear-skin"),
      states: () => q.stateCounts(db, "clear-skin"),
      due: () => q.dueNextDay(db, "clear-skin", Date.now()),
    })) console.log(name, (await time(fn)).toFixed(1), "ms");
  }
  const baseline: number[] = [];
  const page: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    baseline.push(await time(() => db.run(sql`select count(*) from subscribers`)));
    page.push(await time(dashboard));
  }
  const [deliveries] = (await db.run(sql`select count(*) as n from deliveries`)).rows;
  console.log(`\nbench:dashboard  node ${process.version}`);
  console.log(`seeded ${N.toLocaleString("en")} subscribers and ${Number(deliveries?.n).toLocaleString("en")} deliveries in ${(seedMs / 1000).toFixed(1)} s`);
  console.log(`select count(*) from subscribers: median ${median(baseline).toFixed(1)} ms`);
  console.log(`GET /admin/courses/clear-skin:    median ${median(page).toFixed(1)} ms, worst ${Math.max(...page).toFixed(1)} ms (target < 300 ms, ${RUNS} runs)`);
  client.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
