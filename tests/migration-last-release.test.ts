import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { AppDeps } from "../src/app-env";
import type { Db } from "../src/db/client";
import { applyMigrations } from "../src/db/migrate";
import { runDispatchAll } from "../src/drip/dispatch-all";
import { silentLogger } from "../src/lib/logger";
import { createResendMailer } from "../src/mail/resend";
import { startFakeResend } from "./support/fake-resend";
import { releaseDatabase, releaseToken, type ReleaseClaims } from "./support/migrations";
import { confirmByClick } from "./support/signup";
import { createTestClock, testConfig } from "./support/test-app";

/**
 * The last landed release shipped migrations 0000–0005 (several courses, batches as rows) and
 * wrote one JWT per link into its emails, naming the course in unsubscribe, lesson and feedback
 * links. This release adds 0006 (an index) and a new link format: a database that release made must
 * upgrade with every row as it was, and the links already in inboxes must keep working.
 */
const LAST_RELEASE = "0005_send_batches";
const T0 = Date.parse("2026-03-02T12:00:00Z");
const DAY = 86_400_000;
const DUE = T0 + 4 * DAY;

/** One of everything the last release stored, across both courses. */
async function seedLastRelease(db: Db) {
  const statements = [
    sql`insert into subscribers (id, email, first_name, time_zone, send_hour, status, created_at, confirmed_at, unsubscribed_at, confirmation_nonce, source, confirmed_via) values
      ('s-both', 'both@example.com', 'Ada', 'Europe/Paris', 7, 'active', ${T0}, ${T0}, null, 0, 'form', 'link'),
      ('s-pending', 'pending@example.com', null, 'UTC', null, 'pending', ${DUE - DAY}, null, null, 3, 'api', null),
      ('s-left', 'left@example.com', 'Lee', 'UTC', null, 'unsubscribed', ${T0}, ${T0}, ${T0 + DAY}, 1, 'import', 'consented')`,
    sql`insert into enrollments (subscriber_id, course, run, state, next_lesson, next_send_at, last_sent_at, started_at, updated_at) values
      ('s-both', 'clear-skin', 1, 'active', 3, ${DUE}, ${T0 + 2 * DAY}, ${T0}, ${T0 + 2 * DAY}),
      ('s-both', 'skin-food-starter', 1, 'active', 2, ${DUE}, ${T0 + 2 * DAY}, ${T0}, ${T0 + 2 * DAY}),
      ('s-left', 'clear-skin', 1, 'stopped', 2, null, ${T0}, ${T0}, ${T0 + DAY})`,
    sql`insert into send_batches (id, course, lesson, status, attempts, next_attempt_at, created_at, first_attempt_at, updated_at) values
      ('b-1', 'clear-skin', 2, 'sent', 1, null, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}),
      ('b-2', 'skin-food-starter', 1, 'sent', 1, null, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, ${T0 + 2 * DAY})`,
    sql`insert into deliveries (id, subscriber_id, course, run, lesson_number, status, attempts, batch_key, batch_id, provider_message_id, created_at, sent_at, updated_at, delivered_at, opened_at) values
      ('d1', 's-both', 'clear-skin', 1, 1, 'sent', 1, 'lessons-a', null, 'msg-1', ${T0}, ${T0}, ${T0}, ${T0}, ${T0}),
      ('d2', 's-both', 'clear-skin', 1, 2, 'sent', 1, null, 'b-1', 'msg-2', ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, null),
      ('d3', 's-both', 'skin-food-starter', 1, 1, 'sent', 1, null, 'b-2', 'msg-3', ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, null, null)`,
    sql`insert into events (type, subscriber_id, course_slug, lesson, payload, created_at) values
      ('lesson.sent', 's-both', 'clear-skin', 2, '{"run":1}', ${T0 + 2 * DAY})`,
    sql`insert into lesson_votes (id, subscriber_id, course_slug, run, lesson_number, vote, comment, created_at, updated_at) values
      ('v1', 's-both', 'skin-food-starter', 1, 1, 'helpful', 'Useful', ${T0 + 2 * DAY}, ${T0 + 2 * DAY})`,
    sql`insert into suppressions (email_hash, reason, created_at) values ('hash-left', 'unsubscribed', ${T0 + DAY})`,
    sql`insert into webhook_events (id, type, received_at) values ('evt-1', 'email.delivered', ${T0})`,
    sql`insert into rate_limits (key, window_start, count) values ('ip-hash', ${DUE - 60_000}, 2)`,
    sql`insert into api_keys (id, name, prefix, hash, scope, created_at) values ('k1', 'crm', 'ck_abc', 'hash-k1', 'write', ${T0})`,
    sql`insert into api_idempotency (api_key_id, key, request_hash, status, body, created_at) values ('k1', 'idem-1', 'h', 201, '{}', ${DUE - 60_000})`,
    sql`insert into webhook_endpoints (id, url, event_types, secret, created_at, cursor) values ('w1', 'https://hooks.example.com/in', '["*"]', 'whsec_x', ${T0}, 1)`,
    sql`insert into webhook_deliveries (id, endpoint_id, event_id, status, attempts, next_attempt_at, created_at, updated_at) values ('wd1', 'w1', 1, 'succeeded', 1, ${T0}, ${T0}, ${T0})`,
    sql`insert into webhook_attempts (id, delivery_id, endpoint_id, attempted_at, response_status, duration_ms, excerpt) values ('wa1', 'wd1', 'w1', ${T0}, 200, 12, 'ok')`,
    sql`insert into admin_actions (at, operator_email, session_ref, action, subscriber_id, outcome) values (${T0}, 'op@example.com', 'abcd', 'pause', 's-both', 'ok')`,
    sql`insert into import_jobs (id, course_slug, operator_email, created_at, status, headers, updated_at) values ('j1', 'clear-skin', 'op@example.com', ${T0}, 'done', '["email"]', ${T0})`,
    sql`insert into import_rows (job_id, row_number, cells, outcome, subscriber_id) values ('j1', 1, '["left@example.com"]', 'imported', 's-left')`,
  ];
  for (const statement of statements) await db.run(statement);
}

/** Every user table's rows, sorted, without drizzle's own bookkeeping. */
async function everyRow(db: Db): Promise<Record<string, string[]>> {
  const tables = await db.run(sql`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like '__drizzle%' order by name`);
  const dump: Record<string, string[]> = {};
  for (const { name } of tables.rows) {
    const rows = await db.run(sql.raw(`select * from "${String(name)}"`));
    dump[String(name)] = rows.rows.map((row) => JSON.stringify({ ...row })).sort();
  }
  return dump;
}

/** The links the last release put in its emails, frozen in that release's format. */
function lastReleaseLinks(secret: string, subscriberId: string) {
  const token = (claims: Omit<ReleaseClaims, "sub">) => releaseToken(secret, { sub: subscriberId, ...claims });
  return {
    confirm: (course: string, nonce: number) => token({ aud: "confirm", n: nonce, c: course, exp: Math.floor((DUE + DAY) / 1000) }).then((t) => `/confirm?token=${t}`),
    manage: () => token({ aud: "manage" }).then((t) => `/manage/${t}`),
    unsubscribe: (course: string) => token({ aud: "unsubscribe", c: course }).then((t) => `/unsubscribe/${t}`),
    lesson: (course: string, n: number, slug: string) => token({ aud: "lesson", c: course, l: n }).then((t) => `/lessons/${slug}?token=${t}`),
    feedback: (course: string, run: number, n: number) => token({ aud: "feedback", c: course, r: run, l: n }),
  };
}

describe("upgrading a database made by the last landed release (0000–0005)", () => {
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function lastReleaseDatabase() {
    const { db, close } = await releaseDatabase(LAST_RELEASE);
    cleanup.push(close);
    await seedLastRelease(db);
    return db;
  }

  async function appOver(db: Db) {
    const resend = await startFakeResend();
    cleanup.push(() => resend.close());
    const clock = createTestClock(DUE + 6 * 3_600_000);
    const config = testConfig({}, resend.url);
    const deps: AppDeps = { db, clock: clock.now, config, logger: silentLogger, mailer: createResendMailer({ apiKey: "re_test_key", baseUrl: resend.url, timeoutMs: 30_000 }) };
    return { app: createApp(deps), deps, config, resend, clock };
  }

  it("keeps every row of every table exactly as it was, and gains the 0006 index", async () => {
    const db = await lastReleaseDatabase();
    const before = await everyRow(db);
    await applyMigrations(db);
    expect(await everyRow(db)).toEqual(before);
    const index = await db.run(sql`select name from pragma_index_info('subscribers_confirmed_idx') order by seqno`);
    expect(index.rows.map((r) => r.name)).toEqual(["confirmed_at", "created_at"]);
  });

  it("each course's next lesson goes out once, where the last release left off", async () => {
    const db = await lastReleaseDatabase();
    await applyMigrations(db);
    const { deps, resend, clock } = await appOver(db);
    // Two passes a day for three days: each lesson is due once, whatever passes come after.
    for (let day = 0; day < 3; day++) {
      await runDispatchAll(deps);
      await runDispatchAll(deps);
      clock.advance(DAY);
    }
    const subjects = resend.emailsTo("both@example.com").map((e) => e.subject);
    expect(subjects.filter((s) => s.startsWith("Lesson 3:"))).toHaveLength(1);
    expect(subjects.filter((s) => s.startsWith("Day 2:"))).toHaveLength(1);
  });

  it("the manage, lesson and feedback links it sent still open, for the course they name", async () => {
    const db = await lastReleaseDatabase();
    await applyMigrations(db);
    const { app, config } = await appOver(db);
    const links = lastReleaseLinks(config.appSecret, "s-both");

    const manage = await app.request(await links.manage());
    expect(manage.status).toBe(200);
    const page = await manage.text();
    expect(page).toContain("Clear Skin from the Inside Out");
    expect(page).toContain("The Skin-Friendly Plate");

    const archive = await app.request(await links.lesson("skin-food-starter", 1, "food-and-skin-journal"));
    expect(archive.status).toBe(200);
    expect(await archive.text()).toContain("food-and-skin journal");

    const token = await links.feedback("skin-food-starter", 1, 1);
    const vote = await app.request("/feedback", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ token, vote: "not-helpful" }).toString(),
    });
    expect(vote.status).toBe(200);
    const votes = await db.run(sql`select course_slug, lesson_number, vote, comment from lesson_votes`);
    expect(votes.rows.map((r) => ({ ...r }))).toEqual([{ course_slug: "skin-food-starter", lesson_number: 1, vote: "not_helpful", comment: "Useful" }]);
  });

  it("its one-click unsubscribe leaves only the course it names, and its confirmation link still enrols", async () => {
    const db = await lastReleaseDatabase();
    await applyMigrations(db);
    const { app, config } = await appOver(db);

    const oneClick = await app.request(await lastReleaseLinks(config.appSecret, "s-both").unsubscribe("skin-food-starter"), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "List-Unsubscribe=One-Click",
    });
    expect(oneClick.status).toBe(200);
    const states = await db.run(sql`select course, state from enrollments where subscriber_id = 's-both' order by course`);
    expect(states.rows.map((r) => [r.course, r.state])).toEqual([
      ["clear-skin", "active"],
      ["skin-food-starter", "stopped"],
    ]);

    const confirmed = await confirmByClick(app, await lastReleaseLinks(config.appSecret, "s-pending").confirm("skin-food-starter", 3));
    expect(confirmed.status).toBe(200);
    const enrolled = await db.run(sql`select course, state, next_lesson from enrollments where subscriber_id = 's-pending'`);
    expect(enrolled.rows.map((r) => [r.course, r.state, r.next_lesson])).toEqual([["skin-food-starter", "active", 1]]);
  });
});
