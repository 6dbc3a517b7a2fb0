import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deliveries, enrollments, events, lessonVotes } from "../../src/db/schema";
import { runDispatchAll } from "../../src/drip/dispatch-all";
import { starterCourse, twoCourses } from "../support/courses";
import { createSubscriber } from "../support/factories";
import { confirmByClick } from "../support/signup";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "../support/test-app";
import { apiCall, apiKey } from "./support";

let t: TestContext;
let write: string;
beforeEach(async () => {
  t = await createTestContext({ courses: twoCourses() });
  write = (await apiKey(t, "write")).key;
});
afterEach(async () => t.close());

const lessonSubjects = (email: string) => t.resend.emailsTo(email).filter((e) => e.tags?.some((tag) => tag.value === "lesson"));

/** A subscriber enrolled in both courses, lesson 1 of each due now. */
async function inBothCourses() {
  const now = t.clock.now();
  const subscriber = await createSubscriber(t.db, now);
  await t.db.insert(enrollments).values({ subscriberId: subscriber.id, course: starterCourse.slug, nextLesson: 1, nextSendAt: now, startedAt: now, updatedAt: now });
  return subscriber;
}

describe("the API with two courses", () => {
  it("lists every registered course with its own lessons and counts", async () => {
    await inBothCourses();
    const body = await (await apiCall(t, write, "GET", "/api/v1/courses")).json();
    expect(body.data.map((c: { slug: string }) => c.slug)).toEqual(["clear-skin", "skin-basics"]);
    const starter = body.data[1];
    expect(starter.lessons).toHaveLength(starterCourse.lessons.length);
    expect(starter.subscribers).toEqual({ active: 1 });
  });

  it("removing someone from one course leaves that course only: consent and the other course stay", async () => {
    const subscriber = await inBothCourses();
    const res = await apiCall(t, write, "DELETE", `/api/v1/subscribers/${subscriber.id}/courses/skin-basics`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.subscriber).toMatchObject({ status: "active", state: "left" });
    expect(body.subscriber.enrollments).toEqual(
      expect.arrayContaining([expect.objectContaining({ course: "clear-skin", state: "active" }), expect.objectContaining({ course: "skin-basics", state: "left" })]),
    );
    await runDispatchAll(t.deps);
    const tags = lessonSubjects(subscriber.email).map((e) => e.tags?.find((tag) => tag.name === "course")?.value);
    expect(tags).toEqual(["clear-skin"]);
    const left = await t.db.select().from(events).where(and(eq(events.subscriberId, subscriber.id), eq(events.type, "enrollment.left")));
    expect(left.map((e) => e.courseSlug)).toEqual(["skin-basics"]);
  });

  it("lesson events carry the course the lesson belongs to, and list by course", async () => {
    const subscriber = await inBothCourses();
    await runDispatchAll(t.deps);
    const sent = await t.db.select().from(events).where(and(eq(events.subscriberId, subscriber.id), eq(events.type, "lesson.sent")));
    expect(sent.map((e) => e.courseSlug).sort()).toEqual(["clear-skin", "skin-basics"]);
    const listed = await (await apiCall(t, write, "GET", `/api/v1/events?course=skin-basics&type=lesson.sent`)).json();
    expect(listed.data).toHaveLength(1);
    expect(listed.data[0]).toMatchObject({ course: "skin-basics", lesson: 1 });
  });

  it("enrolling an active subscriber in another course sends a join link; confirming it starts that course", async () => {
    const subscriber = await createSubscriber(t.db, t.clock.now());
    const res = await apiCall(t, write, "POST", "/api/v1/courses/skin-basics/enrollments", { email: subscriber.email });
    expect(await res.json()).toMatchObject({ status: "confirmation_sent", subscriberId: subscriber.id });
    const [email] = t.resend.emailsTo(subscriber.email);
    expect(email?.subject).toBe("Please confirm: Skin Basics Starter");
    expect((await confirmByClick(t.app, linkIn(email!.text, `${TEST_APP_URL}/confirm?token=`))).status).toBe(200);
    const joined = await t.db.query.enrollments.findFirst({ where: and(eq(enrollments.subscriberId, subscriber.id), eq(enrollments.course, "skin-basics")) });
    expect(joined?.state).toBe("active");
    const again = await apiCall(t, write, "POST", "/api/v1/courses/skin-basics/enrollments", { email: subscriber.email });
    expect(await again.json()).toMatchObject({ status: "already_subscribed" });
  });

  it("a vote from a lesson of the second course is recorded for that course", async () => {
    const subscriber = await inBothCourses();
    await runDispatchAll(t.deps);
    const starterLesson = lessonSubjects(subscriber.email).find((e) => e.tags?.some((tag) => tag.name === "course" && tag.value === "skin-basics"));
    const yes = linkIn(starterLesson!.text, `${TEST_APP_URL}/feedback/`);
    const token = decodeURIComponent(yes.split("/")[4]!);
    const answer = await t.app.request("/feedback", form({ token, vote: "helpful" }));
    expect(answer.status).toBe(303);
    const [vote] = await t.db.select().from(lessonVotes).where(eq(lessonVotes.subscriberId, subscriber.id));
    expect(vote).toMatchObject({ courseSlug: "skin-basics", lessonNumber: 1, vote: "helpful" });
  });
});

describe("retry-failed with two courses", () => {
  it("revives the failed deliveries of a failed enrollment's own course only", async () => {
    const now = t.clock.now();
    const subscriber = await createSubscriber(t.db, now, {}, { state: "failed", nextSendAt: null });
    await t.db.insert(enrollments).values({ subscriberId: subscriber.id, course: starterCourse.slug, state: "paused", nextLesson: 2, nextSendAt: null, startedAt: now, updatedAt: now });
    const failed = { subscriberId: subscriber.id, run: 1, lessonNumber: 1, status: "failed" as const, attempts: 8, createdAt: now, updatedAt: now };
    await t.db.insert(deliveries).values([
      { ...failed, id: "d-clear", course: "clear-skin" },
      { ...failed, id: "d-starter", course: starterCourse.slug },
    ]);
    const res = await apiCall(t, write, "POST", "/api/v1/deliveries/retry-failed");
    expect(res.status).toBe(200);
    const rows = await t.db.select({ id: deliveries.id, status: deliveries.status }).from(deliveries).orderBy(deliveries.id);
    expect(rows).toEqual([
      { id: "d-clear", status: "retrying" },
      { id: "d-starter", status: "failed" },
    ]);
  });
});

describe("events of a global stop with two courses", () => {
  it("unsubscribing through the API records one enrollment.left per course the person was in", async () => {
    const subscriber = await inBothCourses();
    expect((await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/unsubscribe`)).status).toBe(200);
    const left = await t.db.select().from(events).where(and(eq(events.subscriberId, subscriber.id), eq(events.type, "enrollment.left")));
    expect(left.map((e) => e.courseSlug).sort()).toEqual(["clear-skin", "skin-basics"]);
    expect(JSON.parse(left.find((e) => e.courseSlug === "skin-basics")!.payload)).toEqual({ run: 1, from: "active", to: "left" });
    // Asking again changes nothing and records nothing.
    await apiCall(t, write, "POST", `/api/v1/subscribers/${subscriber.id}/unsubscribe`);
    expect(await t.db.select().from(events).where(and(eq(events.subscriberId, subscriber.id), eq(events.type, "enrollment.left")))).toHaveLength(2);
  });
});
