import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deliveries } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { consoleEnv, get, signIn } from "../support/console";
import { createSubscriber } from "../support/factories";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "../support/test-app";
import { emailEvent, signedWebhook, TEST_WEBHOOK_SECRET } from "../support/webhooks";

const DAY = 24 * 60 * 60 * 1000;
let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ env: { ...consoleEnv, RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
});
afterEach(async () => t.close());

const webhook = (type: string, emailId: string, to: string) =>
  t.app.request("/webhooks/resend", signedWebhook(emailEvent(type, { emailId, to }), { at: Date.now() }));

/** The cells of the funnel table's row for a lesson, as text. */
function funnelRow(html: string, lesson: number): string[] {
  const table = html.slice(html.indexOf('id="funnel-table"'));
  const row = table.match(new RegExp(`<th scope="row">${lesson}\\. [^<]*</th>((?:<td[^>]*>[^<]*</td>)+)`))?.[1] ?? "";
  return [...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]!);
}

describe("dashboard", () => {
  it("shows each lesson's helpful and not-helpful votes and the readers' comments, escaped", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    const ben = await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    for (const [reader, vote, comment] of [[ana, "helpful", "<b>Loved</b> the garden metaphor"], [ben, "not-helpful", ""]] as const) {
      const yes = linkIn(t.resend.emailsTo(reader.email)[0]!.text, `${TEST_APP_URL}/feedback/`);
      const token = decodeURIComponent(yes.split("/")[4]!);
      await t.app.request("/feedback", form({ token, vote, ...(comment && { comment }) }));
    }
    const { cookie } = await signIn(t);
    const html = await (await get(t, "/admin/courses/clear-skin", cookie)).text();
    expect(funnelRow(html, 1).slice(4, 7)).toEqual(["1", "1", "1"]);
    expect(html).toContain("What readers said");
    expect(html).toContain("&lt;b&gt;Loved&lt;/b&gt; the garden metaphor");
    expect(html).not.toContain("<b>Loved</b>");
  });

  it("records each provider event's first time, so one lesson counts as opened, clicked and complained about", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    const lesson = t.resend.emailsTo(ana.email)[0]!;
    const start = t.clock.now();
    await webhook("email.delivered", lesson.id, ana.email);
    t.clock.advance(60_000);
    await webhook("email.clicked", lesson.id, ana.email);
    t.clock.advance(60_000);
    await webhook("email.opened", lesson.id, ana.email); // late: Resend reports opens after the click
    await webhook("email.clicked", lesson.id, ana.email); // a second click keeps the first time
    t.clock.advance(60_000);
    await webhook("email.complained", lesson.id, ana.email);

    const row = (await t.db.query.deliveries.findFirst({ where: eq(deliveries.providerMessageId, lesson.id) }))!;
    expect(row).toMatchObject({ status: "complained", deliveredAt: start, clickedAt: start + 60_000, openedAt: start + 120_000, complainedAt: start + 180_000 });

    const { cookie } = await signIn(t);
    const html = await (await get(t, "/admin/courses/clear-skin", cookie)).text();
    // Sent, Delivered, Opened, Clicked, Rated helpful, Not helpful, Comments, Left after it, Bounced, Complaints
    // The complaint stopped her course after lesson 1: she "left after it".
    expect(funnelRow(html, 1)).toEqual(["2", "1", "1", "1", "0", "0", "0", "1", "0", "1"]);
    expect(funnelRow(html, 2)).toEqual(["0", "0", "0", "0", "0", "0", "0", "0", "0", "0"]);
  });

  it("draws signups and confirmations per day as an SVG chart with a table of the same numbers", async () => {
    const today = t.clock.now();
    await createSubscriber(t.db, today - 2 * DAY, { confirmedAt: today - DAY });
    await createSubscriber(t.db, today, { status: "pending", confirmedAt: null });
    const { cookie } = await signIn(t);
    const res = await get(t, "/admin/courses/clear-skin", cookie);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<svg viewBox="0 0 640 220" role="img"');
    expect(html).toContain("Signups and confirmations per day");
    expect(html).toMatch(/<td>2026-02-28<\/td><td class="num">1<\/td><td class="num">0<\/td>/);
    expect(html).toMatch(/<td>2026-03-01<\/td><td class="num">0<\/td><td class="num">1<\/td>/);
    expect(html).toMatch(/<td>2026-03-02<\/td><td class="num">1<\/td><td class="num">0<\/td>/);
    expect(html).toContain("(1 of 2)");
    expect(html).not.toContain("<script>");
  });

  it("counts active, paused, completed and left people, and what is due in the next 24 hours", async () => {
    const now = t.clock.now();
    await createSubscriber(t.db, now, {}, { nextSendAt: now + 2 * 60 * 60 * 1000, nextLesson: 3 });
    await createSubscriber(t.db, now, {}, { nextSendAt: now + 2 * DAY });
    await createSubscriber(t.db, now, {}, { state: "paused", nextSendAt: null });
    await createSubscriber(t.db, now, {}, { state: "completed", nextSendAt: null, nextLesson: 7 });
    await createSubscriber(t.db, now, { status: "unsubscribed" }, { state: "stopped", nextSendAt: null, nextLesson: 3 });
    const { cookie } = await signIn(t);
    const html = await (await get(t, "/admin/courses/clear-skin", cookie)).text();
    expect(html).toContain("<strong>2</strong>Active");
    expect(html).toContain("<strong>1</strong>Paused");
    expect(html).toContain("<strong>1</strong>Completed");
    expect(html).toContain("<strong>1</strong>Left");
    expect(html).toContain("Lesson 3: 1");
    expect(funnelRow(html, 2)[7]).toBe("1"); // left with lesson 2 as their last
  });

  it("answers an unknown course with a 404 page", async () => {
    const { cookie } = await signIn(t);
    const res = await get(t, "/admin/courses/no-such-course", cookie);
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toContain("text/html");
  });
});
