import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pauseForWeek } from "../../src/db/controls";
import { events } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { createSubscriber } from "../support/factories";
import { createTestContext, type TestContext } from "../support/test-app";
import { TEST_WEBHOOK_SECRET } from "../support/webhooks";
import { JOURNEY_EVENTS, walkJourney } from "./journey";
import { apiCall, apiKey } from "./support";

let t: TestContext;
let write: string;
let read: string;
beforeEach(async () => {
  t = await createTestContext({ env: { RESEND_WEBHOOK_SECRET: TEST_WEBHOOK_SECRET } });
  write = (await apiKey(t, "write")).key;
  read = (await apiKey(t, "read")).key;
});
afterEach(async () => t.close());

async function allEvents(path: string, limit = 7) {
  const seen: { id: number; type: string; subscriberId: string | null; lesson: number | null; data: Record<string, unknown> }[] = [];
  let cursor: string | null = null;
  for (;;) {
    const res = await apiCall(t, read, "GET", `${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.status).toBe(200);
    const page: { data: typeof seen; nextCursor: string | null } = await res.json();
    seen.push(...page.data);
    if (page.data.length === 0) return seen;
    cursor = page.nextCursor;
  }
}

describe("events", () => {
  it("a whole journey writes each state change once, in order, with no personal data", async () => {
    const email = "journey.person@example.com";
    const id = await walkJourney(t, write, email, undefined, { erase: false });
    const listed = await allEvents(`/api/v1/subscribers/${id}/events`);
    expect(listed.map((e) => e.type)).toEqual(JOURNEY_EVENTS.slice(0, -1));
    expect(listed.filter((e) => e.type === "lesson.sent").map((e) => e.lesson)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(listed.map((e) => e.id)).toEqual([...listed.map((e) => e.id)].sort((a, b) => a - b));
    const raw = JSON.stringify(await t.db.select().from(events));
    expect(raw).not.toContain("journey.person");
    expect(raw).not.toContain("example.com");
    expect(await allEvents("/api/v1/events", 5)).toEqual(listed);
  });

  it("deleting a subscriber forgets their earlier events and leaves only subscriber.deleted, with their id", async () => {
    const id = await walkJourney(t, write, "forget.me@example.com");
    const left = await allEvents("/api/v1/events");
    expect(left).toEqual([expect.objectContaining({ type: "subscriber.deleted", subscriberId: id, data: {} })]);
  });

  it("a control that changes nothing writes no event; a refused one neither", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/unsubscribe`);
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/unsubscribe`);
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/resume`);
    const types = (await t.db.select().from(events).where(eq(events.subscriberId, subscriber.id))).map((e) => e.type);
    expect(types).toEqual(["enrollment.paused", "enrollment.left", "subscriber.unsubscribed"]);
  });

  it("a timed pause that runs out is recorded as resumed by the dispatcher", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    await pauseForWeek(t.db, subscriber.id, { now: t.clock.now(), sendHour: 8 });
    t.clock.advance(8 * 24 * 3600_000);
    await runDispatch(t.deps);
    const types = (await t.db.select().from(events).where(eq(events.subscriberId, subscriber.id))).map((e) => e.type);
    expect(types).toEqual(["lesson.sent", "enrollment.paused", "enrollment.resumed", "lesson.sent"]);
  });

  it("the event list refuses a bad cursor and an unknown type, and needs a key", async () => {
    expect((await apiCall(t, read, "GET", "/api/v1/events?cursor=@@@")).status).toBe(400);
    expect((await apiCall(t, read, "GET", `/api/v1/events?cursor=${btoa('"x"')}`)).status).toBe(400);
    expect((await apiCall(t, read, "GET", "/api/v1/events?type=lesson.exploded")).status).toBe(400);
    expect((await apiCall(t, undefined, "GET", "/api/v1/events")).status).toBe(401);
    expect((await apiCall(t, read, "GET", "/api/v1/events?type=lesson.sent")).status).toBe(200);
  });
});
