import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { adminActions, enrollments, subscribers, suppressions } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { consoleEnv, csrfFor, get, OPERATOR, post, signIn } from "../support/console";
import { createSubscriber } from "../support/factories";
import { createTestContext, type TestContext } from "../support/test-app";

let t: TestContext;
let cookie: string;
beforeEach(async () => {
  t = await createTestContext({ env: consoleEnv });
  ({ cookie } = await signIn(t));
});
afterEach(async () => t.close());

const enrollmentOf = async (id: string) => t.db.query.enrollments.findFirst({ where: eq(enrollments.subscriberId, id) });

describe("finding a subscriber", () => {
  it("finds one by address, typed in any case with spaces around it, and opens their page", async () => {
    const ana = await createSubscriber(t.db, t.clock.now(), { email: "ana@example.com" });
    const res = await get(t, `/admin/subscribers?q=${encodeURIComponent("  ANA@Example.com ")}`, cookie);
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(`/admin/subscribers/${ana.id}`);
  });

  it("finds one by id", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    expect((await get(t, `/admin/subscribers?q=${ana.id}`, cookie)).headers.get("location")).toBe(`/admin/subscribers/${ana.id}`);
  });

  it("says so when nobody matches, and explains a malformed query", async () => {
    const none = await get(t, "/admin/subscribers?q=nobody@example.com", cookie);
    expect(none.status).toBe(404);
    expect(await none.text()).toContain("Nobody with that address or id");
    const bad = await get(t, "/admin/subscribers?q=ana", cookie);
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain("whole email address");
  });

  it("shows consent, course progress and a timeline of sends and first-seen events", async () => {
    const ana = await createSubscriber(t.db, t.clock.now() - 60_000, { email: "ana@example.com" });
    await runDispatch(t.deps);
    const html = await (await get(t, `/admin/subscribers/${ana.id}`, cookie)).text();
    expect(html).toContain("Signup form");
    expect(html).toContain("by the link in the confirmation email");
    expect(html).toContain("1 of 6 lessons");
    expect(html).toMatch(/Signed up<\/li>.*Confirmed<\/li>.*Lesson 1 sent<\/li>/s);
  });

  it("answers an unknown id with a 404 page", async () => {
    const res = await get(t, "/admin/subscribers/00000000-0000-0000-0000-000000000000", cookie);
    expect(res.status).toBe(404);
  });
});

describe("acting on a subscriber", () => {
  it("pauses and resumes through the lifecycle, each action logged with the operator", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    const csrf = await csrfFor(t, cookie);
    const paused = await post(t, `/admin/subscribers/${ana.id}/pause`, cookie, { csrf });
    expect(paused.status).toBe(303);
    expect((await enrollmentOf(ana.id))?.state).toBe("paused");
    const page = await (await get(t, paused.headers.get("location")!, cookie)).text();
    expect(page).toContain("Paused: Done.");
    expect(page).toContain(`Paused by an operator (${OPERATOR})`);

    await post(t, `/admin/subscribers/${ana.id}/resume`, cookie, { csrf });
    expect((await enrollmentOf(ana.id))?.state).toBe("active");
    const log = await t.db.select().from(adminActions).where(eq(adminActions.subscriberId, ana.id));
    expect(log.map((row) => [row.action, row.outcome, row.operatorEmail])).toEqual([
      ["pause", "done", OPERATOR],
      ["resume", "done", OPERATOR],
    ]);
  });

  it("unsubscribes: the address goes on the suppression list", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    await post(t, `/admin/subscribers/${ana.id}/unsubscribe`, cookie, { csrf: await csrfFor(t, cookie) });
    expect((await t.db.query.subscribers.findFirst({ where: eq(subscribers.id, ana.id) }))?.status).toBe("unsubscribed");
    expect(await t.db.$count(suppressions)).toBe(1);
    expect((await enrollmentOf(ana.id))?.state).toBe("stopped");
  });

  it("removes from the course: no more lessons", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    await post(t, `/admin/subscribers/${ana.id}/remove`, cookie, { csrf: await csrfFor(t, cookie) });
    expect((await enrollmentOf(ana.id))?.state).toBe("stopped");
    expect((await runDispatch(t.deps)).sent).toBe(0);
    // Leaving a course is not leaving the sender: their consent stays (no unsubscribe, no suppression).
    expect((await t.db.query.subscribers.findFirst({ where: eq(subscribers.id, ana.id) }))?.status).toBe("active");
    expect(await t.db.$count(suppressions)).toBe(0);
  });

  it("refuses a course that does not exist with 400", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    const res = await post(t, `/admin/subscribers/${ana.id}/pause`, cookie, { csrf: await csrfFor(t, cookie), course: "no-such-course" });
    expect(res.status).toBe(400);
    expect((await enrollmentOf(ana.id))?.state).toBe("active");
  });

  it("deletes their data, keeping only the action log's id", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    const res = await post(t, `/admin/subscribers/${ana.id}/delete`, cookie, { csrf: await csrfFor(t, cookie) });
    expect(res.status).toBe(200);
    expect(await t.db.$count(subscribers)).toBe(0);
    expect(await t.db.$count(adminActions, eq(adminActions.subscriberId, ana.id))).toBe(1);
  });

  it("says why an action does not apply (resuming someone who unsubscribed)", async () => {
    const ana = await createSubscriber(t.db, t.clock.now(), { status: "unsubscribed" }, { state: "stopped" });
    const res = await post(t, `/admin/subscribers/${ana.id}/resume`, cookie, { csrf: await csrfFor(t, cookie) });
    expect(await (await get(t, res.headers.get("location")!, cookie)).text()).toContain("Not possible: they are not subscribed.");
  });

  it("refuses without the CSRF token, without a session, and for an unknown action", async () => {
    const ana = await createSubscriber(t.db, t.clock.now());
    expect((await post(t, `/admin/subscribers/${ana.id}/pause`, cookie, {})).status).toBe(403);
    expect((await post(t, `/admin/subscribers/${ana.id}/pause`, "console_session=nope", { csrf: "x" })).status).toBe(401);
    expect((await post(t, `/admin/subscribers/${ana.id}/explode`, cookie, { csrf: await csrfFor(t, cookie) })).status).toBe(404);
    expect((await enrollmentOf(ana.id))?.state).toBe("active");
  });
});
