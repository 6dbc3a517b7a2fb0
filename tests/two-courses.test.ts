import { and, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { enrollments, subscribers } from "../src/db/schema";
import { runDispatchAll } from "../src/drip/dispatch-all";
import { signedSubscriberLinks } from "../src/lib/links";
import { clearSkin, starterCourse, twoCourses } from "./support/courses";
import { confirmByClick, formTokenIn } from "./support/signup";
import { createTestContext, form, linkIn, TEST_APP_URL, type TestContext } from "./support/test-app";

let t: TestContext;
beforeEach(async () => {
  t = await createTestContext({ courses: twoCourses() });
});
afterEach(async () => t.close());

const EMAIL = "two@example.com";
const HOUR = 3_600_000;

/** Signs up on a course's page the way a person does, and confirms with the emailed link. */
async function join(path: string, fields: Record<string, string> = {}) {
  const page = await t.app.request(path);
  const formToken = formTokenIn(await page.text());
  t.clock.advance(5_000);
  const before = t.resend.emailsTo(EMAIL).length;
  const res = await t.app.request("/subscribe", form({ formToken, email: EMAIL, firstName: "Tam", timeZone: "Europe/Berlin", ...fields }));
  expect(res.status).toBe(303);
  const email = t.resend.emailsTo(EMAIL)[before]!;
  return { email, confirm: () => confirmByClick(t.app, linkIn(email.text, `${TEST_APP_URL}/confirm?token=`)) };
}

async function joinBoth() {
  await (await join("/")).confirm();
  const second = await join("/courses/skin-basics", { course: "skin-basics" });
  expect(second.email.subject).toBe("Please confirm: Skin Basics Starter");
  expect((await second.confirm()).status).toBe(200);
}

const subjects = () => t.resend.emailsTo(EMAIL).map((e) => e.subject);
const lessonsOf = (course: typeof clearSkin) => subjects().filter((s) => course.lessons.some((l) => l.subject === s));

async function enrollmentIn(course: string) {
  const [person] = await t.db.select().from(subscribers).where(eq(subscribers.email, EMAIL));
  return t.db.query.enrollments.findFirst({ where: and(eq(enrollments.subscriberId, person!.id), eq(enrollments.course, course)) });
}

describe("one person in two courses", () => {
  it("joining a second course while subscribed takes one click in a confirmation email, and keeps the first consent", async () => {
    await (await join("/")).confirm();
    const [before] = await t.db.select().from(subscribers).where(eq(subscribers.email, EMAIL));
    t.clock.advance(HOUR);
    const second = await join("/courses/skin-basics", { course: "skin-basics" });
    expect(await enrollmentIn("skin-basics")).toBeUndefined();
    await second.confirm();
    const [after] = await t.db.select().from(subscribers).where(eq(subscribers.email, EMAIL));
    expect(after!.confirmedAt).toBe(before!.confirmedAt);
    expect(after!.confirmationNonce).toBe(before!.confirmationNonce);
    expect((await enrollmentIn("skin-basics"))?.state).toBe("active");
    expect((await enrollmentIn("clear-skin"))?.state).toBe("active");
  });

  it("gets each course's lessons once, at 08:00 their time, on each course's own schedule, tagged with the course", async () => {
    t.clock.set("2026-03-02T05:00:00Z");
    await joinBoth();
    await runDispatchAll(t.deps);
    expect(lessonsOf(clearSkin)).toEqual([clearSkin.lessons[0]!.subject]);
    expect(lessonsOf(starterCourse)).toEqual([starterCourse.lessons[0]!.subject]);
    const tags = t.resend.emailsTo(EMAIL).flatMap((e) => e.tags ?? []).filter((tag) => tag.name === "course");
    expect(tags.map((tag) => tag.value).sort()).toEqual(["clear-skin", "skin-basics"]);

    // Starter lesson 2 is planned for day 1, the gut–skin lesson 2 for day 2: 08:00 in Berlin (07:00 UTC in March).
    t.clock.set("2026-03-03T06:59:00Z");
    await runDispatchAll(t.deps);
    expect(lessonsOf(starterCourse)).toHaveLength(1);
    t.clock.set("2026-03-03T07:00:00Z");
    await runDispatchAll(t.deps);
    await runDispatchAll(t.deps);
    expect(lessonsOf(starterCourse)).toEqual(starterCourse.lessons.slice(0, 2).map((l) => l.subject));
    expect(lessonsOf(clearSkin)).toHaveLength(1);
    t.clock.set("2026-03-04T07:00:00Z");
    await runDispatchAll(t.deps);
    expect(lessonsOf(clearSkin)).toEqual(clearSkin.lessons.slice(0, 2).map((l) => l.subject));
  });

  it("the one-click List-Unsubscribe of a lesson leaves that course only; the other keeps coming", async () => {
    await joinBoth();
    await runDispatchAll(t.deps);
    const starterLesson = t.resend.emailsTo(EMAIL).find((e) => e.subject === starterCourse.lessons[0]!.subject)!;
    const url = starterLesson.headers!["List-Unsubscribe"]!.slice(1, -1).replace(TEST_APP_URL, "");
    const res = await t.app.request(url, form({ "List-Unsubscribe": "One-Click" }));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("You have left Skin Basics Starter");
    expect((await enrollmentIn("skin-basics"))?.state).toBe("stopped");
    const [person] = await t.db.select().from(subscribers).where(eq(subscribers.email, EMAIL));
    expect(person!.status).toBe("active");

    for (const day of ["2026-03-03", "2026-03-04", "2026-03-06"]) {
      t.clock.set(`${day}T07:00:00Z`);
      await runDispatchAll(t.deps);
    }
    expect(lessonsOf(starterCourse)).toEqual([starterCourse.lessons[0]!.subject]);
    expect(lessonsOf(clearSkin)).toEqual(clearSkin.lessons.slice(0, 3).map((l) => l.subject));
  });

  it("stopping all email (a link without a course, as earlier releases sent) stops every course at once", async () => {
    await joinBoth();
    await runDispatchAll(t.deps);
    const [person] = await t.db.select().from(subscribers).where(eq(subscribers.email, EMAIL));
    const { unsubscribeUrl } = await signedSubscriberLinks(TEST_APP_URL, t.config.appSecret, person!.id);
    expect((await t.app.request(unsubscribeUrl.replace(TEST_APP_URL, ""), form({ "List-Unsubscribe": "One-Click" }))).status).toBe(200);
    expect((await enrollmentIn("clear-skin"))?.state).toBe("stopped");
    expect((await enrollmentIn("skin-basics"))?.state).toBe("stopped");
    const sent = subjects().length;
    t.clock.set("2026-03-06T07:00:00Z");
    await runDispatchAll(t.deps);
    expect(subjects()).toHaveLength(sent);
  });

  it("a join link names the stored person, not what was typed, and once used says 'already subscribed'", async () => {
    await (await join("/")).confirm();
    const second = await join("/courses/skin-basics", { course: "skin-basics", firstName: "Stranger", timeZone: "America/Denver" });
    const link = linkIn(second.email.text, `${TEST_APP_URL}/confirm?token=`).replace(TEST_APP_URL, "");
    const page = await (await t.app.request(link)).text();
    expect(page).toContain("Tam");
    expect(page).not.toContain("Stranger");
    expect((await second.confirm()).status).toBe(200);
    const [person] = await t.db.select().from(subscribers).where(eq(subscribers.email, EMAIL));
    expect([person!.firstName, person!.timeZone]).toEqual(["Tam", "Europe/Berlin"]);
    expect((await enrollmentIn("skin-basics"))?.state).toBe("active");
    expect(await (await t.app.request(link)).text()).toContain("already subscribed");
  });

  it("signing up again for a course already joined sends the manage link, and an unknown course is refused with a 400", async () => {
    await joinBoth();
    const again = await join("/courses/skin-basics", { course: "skin-basics" });
    expect(again.email.subject).toMatch(/already subscribed/i);
    const page = await t.app.request("/courses/skin-basics");
    const formToken = formTokenIn(await page.text());
    t.clock.advance(5_000);
    const res = await t.app.request("/subscribe", form({ formToken, email: "x@example.com", course: "no-such-course" }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("/courses");
  });
});

describe("the manage page with two courses", () => {
  async function managePage() {
    const lesson = t.resend.emailsTo(EMAIL).find((e) => e.subject === clearSkin.lessons[0]!.subject)!;
    const url = linkIn(lesson.text, `${TEST_APP_URL}/manage/`).replace(TEST_APP_URL, "");
    return { url, html: await (await t.app.request(url)).text() };
  }
  const formTokenOf = (html: string) => html.match(/name="csrf" value="([^"]+)"/)?.[1] ?? html.match(/name="formToken" value="([^"]+)"/)![1]!;

  it("shows every course with its progress and next lesson, and pauses, resumes and leaves each on its own", async () => {
    await joinBoth();
    await runDispatchAll(t.deps);
    const { url, html } = await managePage();
    expect(html).toContain("Clear Skin from the Inside Out");
    expect(html).toContain("Skin Basics Starter");
    expect(html).toContain("received 1 of 3 lessons.");
    expect(html).toContain("Lesson 2 of 3: Moisturise, even oily skin");
    const post = (action: string) =>
      t.app.request(`${url}/courses/skin-basics/${action}`, { ...form({ csrf: formTokenOf(html) }), headers: { "content-type": "application/x-www-form-urlencoded", origin: TEST_APP_URL } });

    expect((await post("pause")).status).toBe(303);
    expect((await enrollmentIn("skin-basics"))?.state).toBe("paused");
    expect((await enrollmentIn("clear-skin"))?.state).toBe("active");
    expect((await post("resume")).status).toBe(303);
    expect((await enrollmentIn("skin-basics"))?.state).toBe("active");
    const left = await post("leave");
    expect(left.headers.get("location")).toMatch(/\?done=left$/);
    expect((await enrollmentIn("skin-basics"))?.state).toBe("stopped");
    expect((await enrollmentIn("clear-skin"))?.state).toBe("active");
    expect(await (await t.app.request(url)).text()).toContain("You left this course");
  });

  it("refuses an unknown course or action with a 404, and a post without the form token with a 403", async () => {
    await joinBoth();
    await runDispatchAll(t.deps);
    const { url, html } = await managePage();
    const headers = { "content-type": "application/x-www-form-urlencoded", origin: TEST_APP_URL };
    const body = new URLSearchParams({ csrf: formTokenOf(html) }).toString();
    expect((await t.app.request(`${url}/courses/nope/pause`, { method: "POST", headers, body })).status).toBe(404);
    expect((await t.app.request(`${url}/courses/skin-basics/explode`, { method: "POST", headers, body })).status).toBe(404);
    expect((await t.app.request(`${url}/courses/skin-basics/leave`, { method: "POST", headers, body: "" })).status).toBe(403);
    expect((await enrollmentIn("skin-basics"))?.state).toBe("active");
  });
});
