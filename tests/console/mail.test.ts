import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { lessonByNumber } from "../../src/course";
import { adminActions, deliveries, enrollments } from "../../src/db/schema";
import { unsubscribe } from "../../src/db/controls";
import { runDispatch } from "../../src/drip/dispatch";
import { consoleEnv, csrfFor, get, OPERATOR, post, signIn } from "../support/console";
import { createSubscriber } from "../support/factories";
import { createTestContext, type TestContext } from "../support/test-app";

const DAY = 24 * 60 * 60 * 1000;
let t: TestContext;
let cookie: string;
beforeEach(async () => {
  t = await createTestContext({ env: consoleEnv });
  ({ cookie } = await signIn(t));
});
afterEach(async () => t.close());

describe("test send", () => {
  it("sends a lesson to the operator marked as a test, with links that do nothing, and writes no delivery", async () => {
    const res = await post(t, "/admin/courses/clear-skin/test-send", cookie, { csrf: await csrfFor(t, cookie), lesson: "3" });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/admin/courses/clear-skin?sent=3");
    const [mail] = t.resend.emailsTo(OPERATOR).filter((e) => e.subject.startsWith("[Test]"));
    expect(mail?.subject).toBe(`[Test] ${lessonByNumber(3)!.subject}`);
    expect(mail?.tags).toContainEqual({ name: "test", value: "true" });
    expect(mail?.text).toContain(`${t.config.appUrl}/admin/test-link`);
    expect(mail?.text).not.toMatch(/\/manage\/|\/unsubscribe\//);
    expect(await t.db.$count(deliveries)).toBe(0);
    const placeholder = await t.app.request("/admin/test-link", { method: "POST" });
    expect(await placeholder.text()).toContain("It does nothing.");
  });

  it("sends the lesson of the course it is asked for, tagged with that course", async () => {
    const res = await post(t, "/admin/courses/skin-food-starter/test-send", cookie, { csrf: await csrfFor(t, cookie), lesson: "2" });
    expect(res.status).toBe(303);
    const [mail] = t.resend.emailsTo(OPERATOR).filter((e) => e.subject.startsWith("[Test]"));
    expect(mail?.subject).toBe("[Test] Day 2: Feed your good bacteria");
    expect(mail?.tags).toContainEqual({ name: "course", value: "skin-food-starter" });
  });

  it("refuses a lesson that does not exist, and a send without the CSRF token", async () => {
    expect((await post(t, "/admin/courses/clear-skin/test-send", cookie, { csrf: await csrfFor(t, cookie), lesson: "99" })).status).toBe(400);
    expect((await post(t, "/admin/courses/clear-skin/test-send", cookie, { lesson: "1" })).status).toBe(403);
    expect(t.resend.emailsTo(OPERATOR).filter((e) => e.subject.startsWith("[Test]"))).toHaveLength(0);
  });
});

describe("failed mail", () => {
  async function failOne() {
    const ana = await createSubscriber(t.db, t.clock.now());
    t.resend.failNext(503, { times: 2 });
    await runDispatch(t.deps, { maxAttempts: 1 });
    const row = (await t.db.query.deliveries.findFirst({ where: eq(deliveries.subscriberId, ana.id) }))!;
    expect(row.status).toBe("failed");
    return { ana, row };
  }

  it("lists failed deliveries with their reason, and a retry sends the lesson once", async () => {
    const { ana, row } = await failOne();
    const page = await (await get(t, "/admin/mail", cookie)).text();
    expect(page).toContain(row.lastError!.slice(0, 20));
    const res = await post(t, `/admin/mail/${row.id}/retry`, cookie, { csrf: await csrfFor(t, cookie, "/admin/mail") });
    expect(res.headers.get("location")).toBe("/admin/mail?retried=done");
    expect((await t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, ana.id) }))?.state).toBe("active");
    t.resend.reset();
    t.clock.advance(DAY);
    expect((await runDispatch(t.deps)).sent).toBe(1);
    expect(t.resend.emailsTo(ana.email)).toHaveLength(1);
    expect(await t.db.$count(adminActions, eq(adminActions.action, "retry"))).toBe(1);
  });

  it("says why a retry is not safe for someone who unsubscribed since", async () => {
    const { ana, row } = await failOne();
    await unsubscribe(t.db, ana.id, t.clock.now(), t.config.appSecret);
    const page = await (await get(t, "/admin/mail", cookie)).text();
    expect(page).toContain("The subscriber is unsubscribed: they must not be mailed.");
    expect(page).not.toContain(`/admin/mail/${row.id}/retry`);
    const forced = await post(t, `/admin/mail/${row.id}/retry`, cookie, { csrf: await csrfFor(t, cookie, "/admin/mail") });
    expect(forced.headers.get("location")).toBe("/admin/mail?retried=unsafe");
  });

  it("needs a session and the CSRF token to retry", async () => {
    const { row } = await failOne();
    expect((await post(t, `/admin/mail/${row.id}/retry`, cookie, {})).status).toBe(403);
    expect((await post(t, `/admin/mail/${row.id}/retry`, "console_session=x", { csrf: "x" })).status).toBe(401);
    expect((await t.db.query.deliveries.findFirst({ where: eq(deliveries.id, row.id) }))?.status).toBe("failed");
  });
});

describe("held batches", () => {
  it("lists a batch the provider never answered for 23 hours, with its course, lesson and people, and offers no retry", async () => {
    await createSubscriber(t.db, t.clock.now());
    await createSubscriber(t.db, t.clock.now());
    let wall = Date.now();
    const wallClock = () => wall;
    t.resend.failNext(500);
    await runDispatch(t.deps, { wallClock });
    wall += 23 * 60 * 60 * 1000;
    t.clock.advance(60_000);
    expect((await runDispatch(t.deps, { wallClock })).held).toBe(1);

    const html = await (await get(t, "/admin/mail", cookie)).text();
    const table = html.slice(html.indexOf('id="held-batches"'));
    const row = table.slice(table.indexOf("<tbody>"), table.indexOf("</tbody>"));
    expect([...row.matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((m) => m[1]).slice(1, 4)).toEqual(["clear-skin", "1", "2"]);
    expect(html).toContain("could deliver the same lesson twice");
    expect(table.slice(0, table.indexOf("</table>"))).not.toContain("Retry");
  });
});
