import { sql } from "drizzle-orm";
import { afterEach, describe, expect, it } from "vitest";
import { createApp } from "../src/app";
import type { AppDeps } from "../src/app-env";
import type { Db } from "../src/db/client";
import { applyMigrations } from "../src/db/migrate";
import { runDispatch } from "../src/drip/dispatch";
import { silentLogger } from "../src/lib/logger";
import { createResendMailer } from "../src/mail/resend";
import { startFakeResend, type FakeResend } from "./support/fake-resend";
import { migrationTagsThrough, releaseDatabase, releaseToken, type ReleaseClaims } from "./support/migrations";
import { confirmByClick } from "./support/signup";
import { createTestClock, testConfig } from "./support/test-app";

/**
 * The migrations of earlier single-course releases, exactly as they shipped: 0000 and 0001 (the
 * release before the API), and 0000–0002 (the API, events, webhooks and lesson votes release).
 */
const RELEASES = [
  { name: "first release (0000)", lastTag: "0000_init" },
  { name: "single-course release (0000–0001)", lastTag: "0001_subscriber_send_hour" },
  { name: "API release (0000–0002)", lastTag: "0002_api_events_webhooks_lesson_votes" },
];

/** Links as these releases wrote them into emails (tests/support/migrations.ts `releaseToken`). */
async function previousReleaseLinks(appUrl: string, secret: string, subscriberId: string, now: number) {
  const token = (claims: Omit<ReleaseClaims, "sub">) => releaseToken(secret, { sub: subscriberId, ...claims });
  const at = encodeURIComponent;
  return {
    confirm: (nonce: number) => token({ aud: "confirm", n: nonce, exp: Math.floor((now + 48 * 3_600_000) / 1000) }).then((t) => `${appUrl}/confirm?token=${at(t)}`),
    manage: () => token({ aud: "manage" }).then((t) => `${appUrl}/manage/${at(t)}`),
    unsubscribe: () => token({ aud: "unsubscribe" }).then((t) => `${appUrl}/unsubscribe/${at(t)}`),
    lesson: (n: number, slug: string) => token({ aud: "lesson", l: n }).then((t) => `${appUrl}/lessons/${at(slug)}?token=${at(t)}`),
    /** From the API release (0002) on: "Was this lesson helpful?", naming course, run and lesson. */
    feedback: (n: number) => token({ aud: "feedback", c: "clear-skin", r: 1, l: n }),
  };
}

const T0 = Date.parse("2026-03-02T12:00:00Z");
const DAY = 86_400_000;

/** Rows the previous release wrote: an active reader at lesson 3, a pending signup, a person who left. */
async function seedPreviousRelease(db: Db, withSendHour: boolean) {
  await db.run(sql`insert into subscribers (id, email, first_name, time_zone, status, created_at, confirmed_at, unsubscribed_at, confirmation_nonce) values
    ('s-active', 'active@example.com', 'Ada', 'Europe/Paris', 'active', ${T0}, ${T0}, null, 0),
    ('s-pending', 'pending@example.com', null, 'UTC', 'pending', ${T0}, null, null, 2),
    ('s-left', 'left@example.com', 'Lee', 'UTC', 'unsubscribed', ${T0}, ${T0}, ${T0 + DAY}, 1)`);
  // 0001 added the subscriber's own send hour.
  if (withSendHour) await db.run(sql`update subscribers set send_hour = 7 where id = 's-active'`);
  await db.run(sql`insert into enrollments (subscriber_id, run, state, next_lesson, next_send_at, last_sent_at, paused_until, lease_id, lease_until, started_at, completed_at, updated_at) values
    ('s-active', 1, 'active', 3, ${T0 + 4 * DAY}, ${T0 + 2 * DAY}, null, null, null, ${T0}, null, ${T0 + 2 * DAY}),
    ('s-left', 1, 'stopped', 2, null, ${T0}, null, null, null, ${T0}, null, ${T0 + DAY})`);
  await db.run(sql`insert into deliveries (id, subscriber_id, run, lesson_number, status, attempts, batch_key, provider_message_id, last_error, created_at, sent_at, updated_at) values
    ('d1', 's-active', 1, 1, 'opened', 1, 'lessons-a', 'msg-1', null, ${T0}, ${T0}, ${T0}),
    ('d2', 's-active', 1, 2, 'delivered', 1, 'lessons-b', 'msg-2', null, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}, ${T0 + 2 * DAY}),
    ('d3', 's-left', 1, 1, 'sent', 1, 'lessons-a', 'msg-3', null, ${T0}, ${T0}, ${T0})`);
  await db.run(sql`insert into webhook_events (id, type, received_at) values ('evt-1', 'email.opened', ${T0})`);
  await db.run(sql`insert into suppressions (email_hash, reason, created_at) values ('hash-left', 'unsubscribed', ${T0 + DAY})`);
}

/** Rows only the API release (0002) had tables for: an event, a lesson vote, an API key, a webhook endpoint. */
async function seedApiRelease(db: Db) {
  await db.run(sql`insert into events (type, subscriber_id, course_slug, lesson, payload, created_at) values
    ('lesson.sent', 's-active', 'clear-skin', 2, '{"run":1}', ${T0 + 2 * DAY})`);
  await db.run(sql`insert into lesson_votes (id, subscriber_id, course_slug, run, lesson_number, vote, comment, created_at, updated_at) values
    ('v1', 's-active', 'clear-skin', 1, 2, 'helpful', null, ${T0 + 2 * DAY}, ${T0 + 2 * DAY})`);
  await db.run(sql`insert into api_keys (id, name, prefix, hash, scope, created_at) values ('k1', 'crm', 'ck_abc', 'hash-k1', 'read', ${T0})`);
  await db.run(sql`insert into webhook_endpoints (id, url, event_types, secret, created_at, cursor) values
    ('w1', 'https://hooks.example.com/in', '["lesson.sent"]', 'whsec_x', ${T0}, 1)`);
}

describe.each(RELEASES)("upgrading a database made by the $name", ({ lastTag }) => {
  const tags = migrationTagsThrough(lastTag);
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function upgraded() {
    const { db, close } = await releaseDatabase(lastTag);
    cleanup.push(close);
    await seedPreviousRelease(db, tags.includes("0001_subscriber_send_hour"));
    if (tags.includes("0002_api_events_webhooks_lesson_votes")) await seedApiRelease(db);
    await applyMigrations(db);
    return db;
  }

  it("keeps every subscriber, enrolled in the default course at their lesson, with consent marked as from the form by a link", async () => {
    const db = await upgraded();
    const subscribers = await db.run(sql`select id, status, source, confirmed_via, send_hour, confirmation_nonce from subscribers order by id`);
    expect(subscribers.rows.map((r) => [r.id, r.status, r.source, r.confirmed_via, r.send_hour, r.confirmation_nonce])).toEqual([
      ["s-active", "active", "form", "link", tags.includes("0001_subscriber_send_hour") ? 7 : null, 0],
      ["s-left", "unsubscribed", "form", "link", null, 1],
      ["s-pending", "pending", "form", null, null, 2],
    ]);
    const enrollments = await db.run(sql`select subscriber_id, course, run, state, next_lesson, next_send_at, last_sent_at from enrollments order by subscriber_id`);
    expect(enrollments.rows.map((r) => ({ ...r }))).toEqual([
      { subscriber_id: "s-active", course: "clear-skin", run: 1, state: "active", next_lesson: 3, next_send_at: T0 + 4 * DAY, last_sent_at: T0 + 2 * DAY },
      { subscriber_id: "s-left", course: "clear-skin", run: 1, state: "stopped", next_lesson: 2, next_send_at: null, last_sent_at: T0 },
    ]);
  });

  it("keeps delivery history (now of the default course), webhook state and the suppression list", async () => {
    const db = await upgraded();
    const deliveries = await db.run(sql`select id, course, lesson_number, status, provider_message_id from deliveries order by id`);
    expect(deliveries.rows.map((r) => [r.id, r.course, r.lesson_number, r.status, r.provider_message_id])).toEqual([
      ["d1", "clear-skin", 1, "opened", "msg-1"],
      ["d2", "clear-skin", 2, "delivered", "msg-2"],
      ["d3", "clear-skin", 1, "sent", "msg-3"],
    ]);
    expect((await db.run(sql`select id from webhook_events`)).rows.map((r) => r.id)).toEqual(["evt-1"]);
    expect((await db.run(sql`select reason from suppressions`)).rows.map((r) => r.reason)).toEqual(["unsubscribed"]);
  });

  // Only releases from 0002 on had these tables: the older releases' runs skip this test.
  it.runIf(tags.includes("0002_api_events_webhooks_lesson_votes"))("keeps the API release's events, lesson votes, API keys and webhook endpoints", async () => {
    const db = await upgraded();
    expect((await db.run(sql`select type, subscriber_id, course_slug, lesson from events`)).rows.map((r) => ({ ...r }))).toEqual([
      { type: "lesson.sent", subscriber_id: "s-active", course_slug: "clear-skin", lesson: 2 },
    ]);
    expect((await db.run(sql`select subscriber_id, course_slug, lesson_number, vote from lesson_votes`)).rows.map((r) => ({ ...r }))).toEqual([
      { subscriber_id: "s-active", course_slug: "clear-skin", lesson_number: 2, vote: "helpful" },
    ]);
    expect((await db.run(sql`select id from api_keys`)).rows.map((r) => r.id)).toEqual(["k1"]);
    expect((await db.run(sql`select id, cursor from webhook_endpoints`)).rows.map((r) => [r.id, r.cursor])).toEqual([["w1", 1]]);
  });

  describe("through the app", () => {
    let resend: FakeResend;
    async function appOver(db: Db) {
      resend = await startFakeResend();
      cleanup.push(() => resend.close());
      const clock = createTestClock(T0 + 4 * DAY + 6 * 3_600_000);
      const config = testConfig({}, resend.url);
      const deps: AppDeps = { db, clock: clock.now, config, logger: silentLogger, mailer: createResendMailer({ apiKey: "re_test_key", baseUrl: resend.url, timeoutMs: 30_000 }) };
      return { app: createApp(deps), deps, config, clock };
    }

    it("a confirmation link sent by the previous release still confirms, into the default course", async () => {
      const db = await upgraded();
      const { app, config, clock } = await appOver(db);
      const link = await (await previousReleaseLinks(config.appUrl, config.appSecret, "s-pending", clock.now())).confirm(2);
      const res = await confirmByClick(app, link);
      expect(res.status).toBe(200);
      const rows = await db.run(sql`select course, state, next_lesson from enrollments where subscriber_id = 's-pending'`);
      expect(rows.rows.map((r) => [r.course, r.state, r.next_lesson])).toEqual([["clear-skin", "active", 1]]);
    });

    it("the active reader gets lesson 3 next, once, and their old manage link still shows their progress", async () => {
      const db = await upgraded();
      const { app, deps, config } = await appOver(db);
      await runDispatch(deps);
      expect(resend.emailsTo("active@example.com").map((e) => e.subject)).toEqual([expect.stringMatching(/^Lesson 3:/)]);
      const links = await previousReleaseLinks(config.appUrl, config.appSecret, "s-active", T0);
      const page = await (await app.request((await links.manage()).replace(config.appUrl, ""))).text();
      expect(page).toContain("Lesson 4");
    });

    it("the previous release's view-in-browser link still opens the lesson, and its one-click unsubscribe still works", async () => {
      const db = await upgraded();
      const { app, config } = await appOver(db);
      const links = await previousReleaseLinks(config.appUrl, config.appSecret, "s-active", T0);
      const archive = await app.request((await links.lesson(2, "three-signs")).replace(config.appUrl, ""));
      expect(archive.status).toBe(200);
      expect(await archive.text()).toContain("Three signs");

      const oneClick = await app.request((await links.unsubscribe()).replace(config.appUrl, ""), {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: "List-Unsubscribe=One-Click",
      });
      expect(oneClick.status).toBe(200);
      const rows = await db.run(sql`select state from enrollments where subscriber_id = 's-active'`);
      expect(rows.rows.map((r) => r.state)).toEqual(["stopped"]);
    });

    // Feedback links came with release 0002: the older releases' runs skip this test.
    it.runIf(tags.includes("0002_api_events_webhooks_lesson_votes"))("the API release's feedback link still opens its page and changes the vote it recorded", async () => {
      const db = await upgraded();
      const { app, config } = await appOver(db);
      const token = await (await previousReleaseLinks(config.appUrl, config.appSecret, "s-active", T0)).feedback(2);
      expect((await app.request(`/feedback/${encodeURIComponent(token)}/not-helpful`)).status).toBe(200);
      const vote = await app.request("/feedback", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: new URLSearchParams({ token, vote: "not-helpful" }).toString(),
      });
      expect(vote.status).toBe(200);
      const rows = await db.run(sql`select lesson_number, vote from lesson_votes where subscriber_id = 's-active'`);
      expect(rows.rows.map((r) => [r.lesson_number, r.vote])).toEqual([[2, "not_helpful"]]);
    });
  });
});
