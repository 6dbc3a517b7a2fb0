import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { subscribers } from "../../src/db/schema";
import { runDispatch } from "../../src/drip/dispatch";
import { createSubscriber } from "../support/factories";
import { confirmByClick } from "../support/signup";
import { createTestContext, linkIn, TEST_APP_URL, type TestContext } from "../support/test-app";
import { apiCall, apiKey } from "./support";

let t: TestContext;
let write: string;
let read: string;
beforeEach(async () => {
  t = await createTestContext();
  write = (await apiKey(t, "write")).key;
  read = (await apiKey(t, "read")).key;
});
afterEach(async () => t.close());

const enroll = (body: unknown, headers: Record<string, string> = {}, key = write) => apiCall(t, key, "POST", "/api/v1/courses/clear-skin/enrollments", body, headers);

describe("enroll through the API", () => {
  it("sends the same confirmation email as the form; confirming starts the course", async () => {
    const res = await enroll({ email: "Api.Person@Example.com", firstName: "Ana", timeZone: "Europe/Berlin" });
    expect(res.status).toBe(202);
    const body = await res.json();
    expect(body).toMatchObject({ status: "confirmation_sent", subscriberId: expect.any(String) });
    const [email] = t.resend.emailsTo("api.person@example.com");
    expect(email?.subject).toMatch(/confirm/i);
    expect(email?.text).toContain("Ana");
    expect((await confirmByClick(t.app, linkIn(email!.text, `${TEST_APP_URL}/confirm`))).status).toBe(200);
    const got = await (await apiCall(t, read, "GET", `/api/v1/subscribers/${body.subscriberId}`)).json();
    expect(got).toMatchObject({ status: "active", state: "active", timeZone: "Europe/Berlin", enrollments: [{ course: "clear-skin", state: "active", nextLesson: 1 }] });
  });

  it("with the same Idempotency-Key sends one email and answers the same; another body with it is a 409", async () => {
    const headers = { "idempotency-key": "crm-42" };
    const first = await enroll({ email: "once@example.com" }, headers);
    const second = await enroll({ email: "once@example.com" }, headers);
    expect(second.status).toBe(202);
    expect(await second.json()).toEqual(await first.json());
    expect(t.resend.emailsTo("once@example.com")).toHaveLength(1);
    const other = await enroll({ email: "other@example.com" }, headers);
    expect(other.status).toBe(409);
    expect(await other.json()).toMatchObject({ error: { code: "idempotency_conflict" } });
  });

  it("an address already subscribed gets its manage link, and the answer says so", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    const res = await enroll({ email: subscriber.email });
    expect(await res.json()).toMatchObject({ status: "already_subscribed", subscriberId: subscriber.id });
    expect(t.resend.emailsTo(subscriber.email)[0]?.text).toContain("/manage");
  });

  it("refuses hostile and malformed input with a 400 naming the field, never a 5xx", async () => {
    for (const body of [{}, { email: "not-an-address" }, { email: "a@example.com", firstName: "http://evil.example" }, { email: "x".repeat(300) + "@example.com" }, { email: ["a@example.com"] }]) {
      const res = await enroll(body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await res.json()).error.code).toBe("bad_request");
    }
    const broken = await enroll("{not json");
    expect(broken.status).toBe(400);
    expect(t.resend.emails).toHaveLength(0);
  });

  it("an unknown course is a 404; a read key is a 403 and sends nothing", async () => {
    expect((await apiCall(t, write, "POST", "/api/v1/courses/no-such-course/enrollments", { email: "a@example.com" })).status).toBe(404);
    expect((await enroll({ email: "a@example.com" }, {}, read)).status).toBe(403);
    expect(t.resend.emails).toHaveLength(0);
  });
});

describe("list and get subscribers", () => {
  it("pages with a cursor, oldest first, and filters by state and course", async () => {
    const made = [];
    for (let i = 0; i < 5; i++) {
      made.push(await createSubscriber(t.db, t.clock.now()));
      t.clock.advance(1000);
    }
    await apiCall(t, write, "POST", `/api/v1/subscribers/${made[1]!.id}/courses/clear-skin/pause`);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { data: { id: string }[]; nextCursor: string | null } = await (
        await apiCall(t, read, "GET", `/api/v1/subscribers?limit=2${cursor ? `&cursor=${cursor}` : ""}`)
      ).json();
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((s) => s.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(made.map((s) => s.id));
    const paused = await (await apiCall(t, read, "GET", "/api/v1/subscribers?state=paused&course=clear-skin")).json();
    expect(paused.data.map((s: { id: string }) => s.id)).toEqual([made[1]!.id]);
  });

  it("an address enrolled through the API is listed under the course as pending before it confirms", async () => {
    const { subscriberId } = await (await enroll({ email: "waiting@example.com" })).json();
    const pending = await (await apiCall(t, read, "GET", "/api/v1/subscribers?course=clear-skin&state=pending")).json();
    expect(pending.data.map((s: { id: string }) => s.id)).toEqual([subscriberId]);
  });

  it("refuses a bad cursor, a bad state, an unknown course and a silly limit with 4xx", async () => {
    expect(await (await apiCall(t, read, "GET", "/api/v1/subscribers?cursor=garbage!!")).json()).toMatchObject({ error: { code: "invalid_cursor" } });
    expect((await apiCall(t, read, "GET", `/api/v1/subscribers?cursor=${btoa('{"a":1}')}`)).status).toBe(400);
    expect((await apiCall(t, read, "GET", "/api/v1/subscribers?state=everything")).status).toBe(400);
    expect((await apiCall(t, read, "GET", "/api/v1/subscribers?course=nope")).status).toBe(404);
    expect((await apiCall(t, read, "GET", "/api/v1/subscribers?limit=100000")).status).toBe(400);
    expect((await apiCall(t, read, "GET", "/api/v1/subscribers?course=DROP%20TABLE")).status).toBe(400);
  });

  it("gets one subscriber, 404 for an unknown id, 401 without a key", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    expect(await (await apiCall(t, read, "GET", `/api/v1/subscribers/${subscriber.id}`)).json()).toMatchObject({ id: subscriber.id, email: subscriber.email });
    expect((await apiCall(t, read, "GET", "/api/v1/subscribers/unknown")).status).toBe(404);
    expect((await apiCall(t, undefined, "GET", `/api/v1/subscribers/${subscriber.id}`)).status).toBe(401);
  });

  it("lists a subscriber's deliveries", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    const res = await apiCall(t, read, "GET", `/api/v1/subscribers/${subscriber.id}/deliveries`);
    expect(await res.json()).toMatchObject({ data: [{ course: "clear-skin", lesson: 1, status: "sent", run: 1 }] });
    expect((await apiCall(t, read, "GET", "/api/v1/subscribers/unknown/deliveries")).status).toBe(404);
  });
});

describe("controls through the API", () => {
  it("pause and resume go through the lifecycle; pausing twice is harmless", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    const paused = await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    expect(await paused.json()).toMatchObject({ subscriber: { state: "paused" }, lessonOnItsWay: false });
    expect((await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`)).status).toBe(200);
    expect((await runDispatch(t.deps)).sent).toBe(0);
    const resumed = await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/resume`);
    expect(await resumed.json()).toMatchObject({ subscriber: { state: "active" } });
  });

  it("a read key cannot pause; an unknown subscriber or course is a 404; an unsubscribed one a 409", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    expect((await apiCall(t, read, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`)).status).toBe(403);
    expect((await apiCall(t, write, "POST", `/api/v1/subscribers/unknown/courses/clear-skin/pause`)).status).toBe(404);
    expect((await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/other/pause`)).status).toBe(404);
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/unsubscribe`);
    const refused = await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/courses/clear-skin/pause`);
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: "conflict" } });
  });

  it("removing from the course (consent stays) and unsubscribing stop the lessons", async () => {
    const leaving = await createSubscriber(t.db, t.clock.now());
    const unsubscribing = await createSubscriber(t.db, t.clock.now());
    expect(await (await apiCall(t, write, "DELETE", `/api/v1/subscribers/${leaving.id}/courses/clear-skin`)).json()).toMatchObject({
      subscriber: { status: "active", state: "left", enrollments: [{ state: "left" }] },
    });
    expect(await (await apiCall(t, write, "POST", `/api/v1/subscribers/${unsubscribing.id}/unsubscribe`)).json()).toMatchObject({ subscriber: { status: "unsubscribed" } });
    expect((await runDispatch(t.deps)).sent).toBe(0);
  });

  it("deleting erases the person: 204, then 404", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    expect((await apiCall(t, write, "DELETE", `/api/v1/subscribers/${subscriber.id}`)).status).toBe(204);
    expect(await t.db.query.subscribers.findFirst({ where: eq(subscribers.id, subscriber.id) })).toBeUndefined();
    expect((await apiCall(t, write, "DELETE", `/api/v1/subscribers/${subscriber.id}`)).status).toBe(404);
    expect((await apiCall(t, read, "DELETE", `/api/v1/subscribers/${subscriber.id}`)).status).toBe(403);
  });
});

describe("courses", () => {
  it("list per-lesson funnel counts from deliveries, without personal data", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    await createSubscriber(t.db, t.clock.now());
    await runDispatch(t.deps);
    const res = await apiCall(t, read, "GET", "/api/v1/courses");
    const body = await res.json();
    expect(body.data[0]).toMatchObject({ slug: "clear-skin", subscribers: { active: 2 } });
    expect(body.data[0].lessons[0]).toMatchObject({ number: 1, sent: 2, delivered: 0, opened: 0, clicked: 0, helpful: 0, notHelpful: 0 });
    expect(body.data[0].lessons).toHaveLength(6);
    expect(JSON.stringify(body)).not.toContain(subscriber.email);
    expect((await apiCall(t, read, "GET", "/api/v1/courses/clear-skin")).status).toBe(200);
    expect((await apiCall(t, read, "GET", "/api/v1/courses/none")).status).toBe(404);
  });
});
