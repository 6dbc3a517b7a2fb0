import type { Client, InStatement, InValue } from "@libsql/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runHousekeeping } from "../../src/db/retention";
import { runDispatchAll } from "../../src/drip/dispatch-all";
import { createSubscriber, createSubscribers } from "../support/factories";
import { createTestContext, type TestContext } from "../support/test-app";

/**
 * Every statement a dispatcher pass sends (claims, delivery rows, the last check, the answer's
 * records, paused rows waking, uncertain batches resumed and held, refusals, housekeeping) is
 * captured from a real pass over a real libSQL file, and its query plan (EXPLAIN QUERY PLAN) must
 * find rows by key or by a narrow range: a pass may cost what is due, never what is stored. SQLite
 * plans these without statistics (no ANALYZE), so the plans here are the ones a database of a
 * million subscribers gets too (`npm run bench:scale` measures that).
 */

/** Plan lines that read a whole table, or an index only by its low-cardinality leading columns. */
const BROAD = [
  // A full scan of any table but a VALUES list of the statement's own rows.
  /^SCAN (?!\d* ?CONSTANT ROWS?$)(?!v$)(?!rate_limits$)\S+/,
  /INDEX enrollments_due_idx \(course=\?(?: AND state=\?)?\)$/,
  /INDEX enrollments_state_lesson_idx \(state=\?(?: AND next_lesson=\?)?\)$/,
  /INDEX send_batches_due_idx \(course=\?\)$/,
  /INDEX deliveries_status_idx \(status=\?\)$/,
  /INDEX deliveries_funnel_idx/,
  /INDEX subscribers_confirmed_idx \(confirmed_at=\?\)$/,
];

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let t: TestContext;
let client: Client;
const seen = new Map<string, InValue[]>();

/** Records each statement (its SQL once, with the arguments of its first use) as the client runs it. */
function capture(c: Client) {
  const note = (s: InStatement) => {
    const { sql, args } = typeof s === "string" ? { sql: s, args: [] } : s;
    if (!seen.has(sql)) seen.set(sql, Array.isArray(args) ? (args as InValue[]) : []);
  };
  const execute = c.execute.bind(c);
  const batch = c.batch.bind(c);
  c.execute = ((s: InStatement) => (note(s), execute(s))) as Client["execute"];
  c.batch = ((ss: InStatement[], mode?: "write" | "read" | "deferred") => (ss.forEach(note), batch(ss, mode))) as Client["batch"];
}

beforeAll(async () => {
  t = await createTestContext({ timeoutMs: 60_000 });
  const { db, deps, clock, resend } = t;
  client = db.$client;
  let wall = Date.parse("2026-03-02T12:00:00Z");
  const pass = () => runDispatchAll(deps, { wallClock: () => wall, sleep: async () => {} });

  // Due rows in both courses, a last lesson (completion), a timed pause that has run out, an address the provider refuses.
  await createSubscribers(db, 150, clock.now());
  await createSubscriber(db, clock.now(), {}, { nextLesson: 6, lastSentAt: clock.now() - 48 * HOUR });
  await createSubscriber(db, clock.now(), {}, { course: "skin-food-starter" });
  await createSubscriber(db, clock.now(), {}, { state: "paused", pausedUntil: clock.now() - MINUTE });
  await createSubscriber(db, clock.now(), { email: "refused@example.com" });
  resend.refuse.add("refused@example.com");
  capture(client);

  // The first batch's answer is lost (a 5xx): it waits as an uncertain batch, leased to itself.
  resend.failNext(500);
  await pass();
  // Its retry comes due and is resent from its row under the same key.
  clock.advance(10 * MINUTE);
  await pass();
  // Another one: lost, then its retry answered "key already used": everyone in it counts as sent.
  await createSubscribers(db, 5, clock.now());
  resend.failNext(500);
  await pass();
  clock.advance(10 * MINUTE);
  resend.failNext(409, { body: { statusCode: 409, name: "invalid_idempotent_request", message: "Same idempotency key used with a different request payload." } });
  await pass();
  // And one still unknown near the end of the key's window: held for the operator.
  await createSubscribers(db, 5, clock.now());
  resend.failNext(500);
  await pass();
  clock.advance(10 * MINUTE);
  wall += 24 * HOUR;
  await pass();
  await runHousekeeping(deps);
}, 60_000);

afterAll(async () => {
  await t?.close();
});

describe("the dispatcher's statements at scale", () => {
  it("the captured passes include claims, resumed and completed enrollments, batch lookups, leases and settles, and housekeeping", () => {
    const all = [...seen.keys()].join("\n");
    for (const step of ["UPDATE enrollments SET lease_id", "'enrollment.resumed'", "'enrollment.completed'", "SELECT id FROM send_batches WHERE course", "lease_until = ", "delete from \"subscribers\""]) {
      expect(all).toContain(step);
    }
    expect([...seen.keys()].some((s) => /update "send_batches" set "status"/.test(s))).toBe(true);
  });

  it("no statement of a pass reads a whole table or a broad slice of an index", async () => {
    const broad: string[] = [];
    for (const [sql, args] of [...seen]) {
      if (/^\s*(begin|commit|rollback|pragma|explain)/i.test(sql)) continue;
      const plan = await client.execute({ sql: `explain query plan ${sql}`, args }).catch((e: unknown) => {
        throw new Error(`${String(e)}: ${JSON.stringify(sql.slice(0, 30))} ${JSON.stringify(args)}`);
      });
      const lines = plan.rows.map((r) => String(r.detail));
      const bad = lines.filter((line) => BROAD.some((re) => re.test(line)));
      if (bad.length > 0) broad.push(`${sql.replace(/\s+/g, " ").slice(0, 160)}\n    ${bad.join("\n    ")}`);
    }
    expect(broad).toEqual([]);
  });
});
