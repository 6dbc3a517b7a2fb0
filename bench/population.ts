import type { Client, InStatement } from "@libsql/client";
import { closeSync, fsyncSync, openSync } from "node:fs";

/**
 * Seeds a realistic subscriber base with SQL alone (INSERT … SELECT over a recursive counter, one
 * transaction per 100,000 subscribers), so a million rows take seconds. Exactly `due` enrollments
 * are due at `now`, spread evenly through the id order; the rest is what a service of that size
 * carries: pending signups (recent, so retention has nothing to do), unsubscribed people, two
 * courses, enrollments active with a future send time, paused (timed, not yet run out, and until
 * resumed), completed, failed and stopped, ~2 delivered lessons per subscriber in sent batches, a
 * few batches held or waiting on a later retry, one event per subscriber and rate-limit counters.
 */
export interface Population {
  subscribers: number;
  due: number;
  now: number;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;
const CHUNK = 100_000;

/** Subscriber ids look like random UUIDs in length (36 characters) but grow with `i`, so inserts append. */
const id = (expr: string) => `printf('%08d-0000-4000-8000-%012d', ${expr}, ${expr})`;

function chunkStatements(from: number, to: number, p: Population): InStatement[] {
  const step = Math.max(1, Math.floor(p.subscribers / p.due));
  const counter = `with recursive k(i) as (select ${from} union all select i + 1 from k where i + 1 < ${to})`;
  const isDue = `(i % ${step} = 0 and i / ${step} < ${p.due})`;
  const status = `case when ${isDue} then 'active' when i % 100 < 2 then 'pending' when i % 100 < 7 then 'unsubscribed' else 'active' end`;
  const zones = `case i % 4 when 0 then 'UTC' when 1 then 'America/New_York' when 2 then 'Europe/Berlin' else 'Asia/Kolkata' end`;
  // Enrollment kind for a subscriber who is not due: spread with a multiplier so it is independent of the status classes.
  const kind = `((i * 31) % 100)`;
  const state = `case when ${isDue} then 'active' when i % 100 < 7 then 'stopped' when ${kind} < 60 then 'active' when ${kind} < 70 then 'paused'
    when ${kind} < 95 then 'completed' when ${kind} < 97 then 'failed' else 'stopped' end`;
  const nextLesson = `case when ${isDue} then 2 + i % 5 when ${kind} between 70 and 94 then 7 else 2 + i % 5 end`;
  const nextSendAt = `case when ${isDue} then ${p.now} - (i % 3600) * 1000 when i % 100 < 7 then null when ${kind} < 70 then ${p.now} + (1 + i % 120) * ${HOUR} else null end`;
  return [
    `${counter} insert into subscribers (id, email, first_name, time_zone, status, created_at, confirmed_at, unsubscribed_at, confirmed_via)
      select ${id("i")}, printf('reader%08d@example.com', i), case when i % 3 = 0 then null else 'Reader' end, ${zones}, ${status},
        ${p.now} - case when i % 100 < 2 and not ${isDue} then (1 + i % 5) * ${DAY} else (10 + i % 300) * ${DAY} end,
        case when i % 100 < 2 and not ${isDue} then null else ${p.now} - (10 + i % 300) * ${DAY} + ${HOUR} end,
        case when i % 100 between 2 and 6 and not ${isDue} then ${p.now} - ${DAY} end,
        case when i % 100 < 2 and not ${isDue} then null else 'link' end
      from k`,
    `${counter} insert into enrollments (subscriber_id, course, run, state, next_lesson, next_send_at, last_sent_at, paused_until, started_at, completed_at, updated_at)
      select ${id("i")}, 'clear-skin', 1, ${state}, ${nextLesson}, ${nextSendAt}, ${p.now} - 2 * ${DAY},
        case when not ${isDue} and ${kind} between 60 and 64 then ${p.now} + 3 * ${DAY} end,
        ${p.now} - (10 + i % 300) * ${DAY}, case when not ${isDue} and ${kind} between 70 and 94 then ${p.now} - 3 * ${DAY} end, ${p.now} - 2 * ${DAY}
      from k where ${isDue} or i % 100 >= 2`,
    // The starter course: a third of the subscribers, none due (its pass must find that cheaply).
    `${counter} insert into enrollments (subscriber_id, course, run, state, next_lesson, next_send_at, last_sent_at, started_at, completed_at, updated_at)
      select ${id("i")}, 'skin-food-starter', 1, case when i % 2 = 0 then 'active' else 'completed' end, case when i % 2 = 0 then 2 else 4 end,
        case when i % 2 = 0 then ${p.now} + (1 + i % 48) * ${HOUR} end, ${p.now} - ${DAY}, ${p.now} - 5 * ${DAY},
        case when i % 2 = 1 then ${p.now} - ${DAY} end, ${p.now} - ${DAY}
      from k where not ${isDue} and i % 100 >= 7 and i % 10 < 3`,
    // Lesson 1 for every clear-skin enrollment, lesson 2 where it is behind them: ~2 per subscriber.
    `insert into deliveries (id, subscriber_id, course, run, lesson_number, status, attempts, batch_id, provider_message_id, created_at, sent_at, updated_at, delivered_at, opened_at, clicked_at)
      select e.subscriber_id || '-' || l.n, e.subscriber_id, 'clear-skin', 1, l.n, 'delivered', 1,
        printf('hist-%d-%d', l.n, cast(substr(e.subscriber_id, 1, 8) as integer) / 100), 'msg-' || e.subscriber_id || '-' || l.n,
        e.started_at, e.started_at + l.n * ${DAY}, e.started_at + l.n * ${DAY}, e.started_at + l.n * ${DAY},
        case when l.n % 2 = 1 then e.started_at + l.n * ${DAY} + ${HOUR} end, null
      from enrollments e join (select 1 as n union all select 2) l on l.n < e.next_lesson
      where e.course = 'clear-skin' and e.subscriber_id >= ${id(String(from))} and e.subscriber_id < ${id(String(to))}
      order by random()`,
    `${counter} insert into send_batches (id, course, lesson, status, attempts, created_at, first_attempt_at, updated_at)
      select printf('hist-%d-%d', l.n, i / 100), 'clear-skin', l.n, 'sent', 1, ${p.now} - 10 * ${DAY}, ${p.now} - 10 * ${DAY}, ${p.now} - 10 * ${DAY}
      from k join (select 1 as n union all select 2) l where i % 100 = 0`,
    `${counter} insert into events (type, subscriber_id, course_slug, lesson, payload, created_at)
      select 'lesson.sent', ${id("i")}, 'clear-skin', 1, '{"run":1}', ${p.now} - 10 * ${DAY} from k where i % 100 >= 2 order by random()`,
  ];
}

/** Batches an operator has to look at (held), one waiting on a later retry, and rate-limit counters. */
function fixedRows(p: Population): InStatement[] {
  return [
    `insert into send_batches (id, course, lesson, status, attempts, next_attempt_at, created_at, first_attempt_at, updated_at)
      values ('held-1', 'clear-skin', 3, 'held', 4, null, ${p.now - 2 * DAY}, ${p.now - 2 * DAY}, ${p.now - DAY}),
             ('held-2', 'clear-skin', 4, 'held', 5, null, ${p.now - 3 * DAY}, ${p.now - 3 * DAY}, ${p.now - 2 * DAY}),
             ('later-1', 'clear-skin', 2, 'retrying', 2, ${p.now + HOUR}, ${p.now - HOUR}, ${p.now - HOUR}, ${p.now - HOUR}),
             ('refused-1', 'skin-food-starter', 2, 'failed', 1, null, ${p.now - DAY}, ${p.now - DAY}, ${p.now - DAY})`,
    `with recursive k(i) as (select 0 union all select i + 1 from k where i + 1 < 2000)
      insert into rate_limits (key, window_start, count) select printf('ip:%04d', i), ${p.now} - (i % 3) * ${HOUR}, 1 + i % 4 from k`,
  ];
}

const SEEDED_TABLES = ["subscribers", "enrollments", "deliveries", "send_batches", "events", "rate_limits"];

/**
 * Indexes a pass inserts into at random places (keyed by subscriber or by the provider's random
 * ids). In a live database they grew by random inserts, so their leaf pages have room; a sorted
 * build packs every page full (99 %), and then nearly every insert of the measured pass splits a
 * page, the more so the larger the index: that made the 1,000,000-subscriber pass look up to 0.2×
 * dearer than a live database's. Grown by inserts in random order they end about 89 % full.
 */
const GROWN_BY_INSERTS = new Set(["deliveries_subscriber_course_run_lesson_unique", "deliveries_provider_message_idx", "events_subscriber_idx"]);

/**
 * Seeds `p` into an empty, migrated database; returns the milliseconds it took. Most secondary
 * indexes are dropped first and built again once the rows are in (a sorted build is much faster
 * than a million random inserts into each), with a large page cache and no journal meanwhile; the
 * cache and journal are then set back to what `openDatabase` uses, so the pass measured afterwards
 * runs as it would in production. The indexes in GROWN_BY_INSERTS stay, and their rows go in in
 * random order, as they do in a live database.
 */
export async function seedPopulation(client: Client, p: Population): Promise<number> {
  const started = performance.now();
  const placeholders = SEEDED_TABLES.map(() => "?").join(", ");
  const indexes = await client.execute({ sql: `select name, sql from sqlite_master where type = 'index' and sql is not null and tbl_name in (${placeholders})`, args: SEEDED_TABLES });
  const cacheSize = (await client.execute("pragma cache_size")).rows[0]![0];
  await client.execute("pragma journal_mode = off");
  await client.execute("pragma cache_size = -262144");
  const rebuilt = indexes.rows.filter((row) => !GROWN_BY_INSERTS.has(String(row.name)));
  for (const row of rebuilt) await client.execute(`drop index ${String(row.name)}`);
  for (let from = 0; from < p.subscribers; from += CHUNK) await client.batch(chunkStatements(from, Math.min(p.subscribers, from + CHUNK), p), "write");
  await client.batch(fixedRows(p), "write");
  for (const row of rebuilt) await client.execute(String(row.sql));
  await client.execute(`pragma cache_size = ${Number(cacheSize)}`);
  await client.execute("pragma journal_mode = wal");
  return performance.now() - started;
}

/**
 * Writes the seeded file through to the disk, so the pass measured next does not pay for the
 * seeding's dirty pages (its first WAL checkpoint would otherwise fsync the whole file).
 */
export function flushToDisk(file: string): void {
  const fd = openSync(file, "r+");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Counts to print beside the figures, so a reader can see what the pass ran over. */
export async function populationCounts(client: Client, now: number) {
  const one = async (q: string) => Number((await client.execute(q)).rows[0]![0]);
  return {
    subscribers: await one("select count(*) from subscribers"),
    enrollments: await one("select count(*) from enrollments"),
    deliveries: await one("select count(*) from deliveries"),
    due: await one(`select count(*) from enrollments where state = 'active' and next_send_at <= ${now}`),
  };
}
