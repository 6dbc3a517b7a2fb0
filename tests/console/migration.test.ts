import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { applyMigrations } from "../../src/db/migrate";
import { releaseDatabase } from "../support/migrations";

describe("the console's migration", () => {
  it("upgrades a previous release's database, giving delivered, opened and clicked deliveries their first-seen times", async () => {
    // The release before the console: everything up to 0002.
    const { db, close } = await releaseDatabase("0002_api_events_webhooks_lesson_votes");
    try {
      await db.run(sql`insert into subscribers (id, email, time_zone, status, created_at, confirmation_nonce) values ('s1', 'a@example.com', 'UTC', 'active', 1, 0)`);
      for (const [id, lesson, status] of [["d1", 1, "clicked"], ["d2", 2, "opened"], ["d3", 3, "sent"], ["d4", 4, "complained"]] as const) {
        await db.run(sql`insert into deliveries (id, subscriber_id, run, lesson_number, status, attempts, created_at, updated_at) values (${id}, 's1', 1, ${lesson}, ${status}, 1, 10, ${lesson * 100})`);
      }
      await applyMigrations(db);
      const rows = await db.run(sql`select id, status, delivered_at, opened_at, clicked_at, complained_at from deliveries order by id`);
      expect(rows.rows.map((r) => ({ ...r }))).toEqual([
        { id: "d1", status: "clicked", delivered_at: 100, opened_at: 100, clicked_at: 100, complained_at: null },
        { id: "d2", status: "opened", delivered_at: 200, opened_at: 200, clicked_at: null, complained_at: null },
        { id: "d3", status: "sent", delivered_at: null, opened_at: null, clicked_at: null, complained_at: null },
        { id: "d4", status: "complained", delivered_at: 400, opened_at: null, clicked_at: null, complained_at: 400 },
      ]);
      expect((await db.run(sql`select count(*) as n from subscribers`)).rows[0]?.n).toBe(1);
    } finally {
      close();
    }
  });
});
