import { afterEach, describe, expect, it } from "vitest";
import { createElement } from "react";
import { allCourses, courseBySlug, courseShape, createCourseRegistry, DEFAULT_COURSE, defineCourse, lessonOf } from "../../src/course";
import { renderEmail } from "../../src/course/render";
import { composeLessonEmail } from "../../src/drip/lesson-email";
import { lessonTemplate } from "../../src/mail/emails";
import { BOTH_COURSES, clearSkin, STARTER_EMAILS, starterCourse, twoCourses } from "../support/courses";
import { createTestContext, testConfig, type TestContext } from "../support/test-app";

describe("courses as values", () => {
  it("serves the gut–skin course as the built-in default, under the slug clear-skin", () => {
    expect(DEFAULT_COURSE.slug).toBe("clear-skin");
    expect(courseBySlug("clear-skin")).toBe(DEFAULT_COURSE);
    expect(allCourses()[0]).toBe(DEFAULT_COURSE);
    expect(courseBySlug("no-such-course")).toBeUndefined();
  });

  it("numbers a course's lessons in order and tells the lifecycle its length and schedule", () => {
    expect(starterCourse.lessons.map((l) => l.number)).toEqual([1, 2, 3]);
    const shape = courseShape(starterCourse);
    expect(shape.lessonCount).toBe(3);
    expect([1, 2, 3, 4].map(shape.dayOffset)).toEqual([0, 1, 3, undefined]);
    expect(lessonOf(starterCourse, 2)?.slug).toBe("moisturise");
  });

  it("refuses a course with a bad slug, a repeated lesson, a long subject or offsets that go backwards", () => {
    const lesson = { slug: "one", title: "One", subject: "One", preview: "p", summary: "s", dayOffset: 0 };
    const base = { slug: "ok", title: "T", description: "D", language: "en", lessons: [lesson] };
    expect(() => defineCourse({ ...base, slug: "Not OK" })).toThrow(/slug/);
    expect(() => defineCourse({ ...base, lessons: [lesson, { ...lesson, dayOffset: 2 }] })).toThrow(/used twice/);
    expect(() => defineCourse({ ...base, lessons: [{ ...lesson, subject: "x".repeat(61) }] })).toThrow(/60 characters/);
    expect(() => defineCourse({ ...base, lessons: [lesson, { ...lesson, slug: "two", dayOffset: 0 }] })).toThrow(/increase/);
    expect(() => defineCourse({ ...base, lessons: [] })).toThrow(/at least one lesson/);
  });

  it("refuses a registry where two courses share a slug", () => {
    expect(() => createCourseRegistry([clearSkin, clearSkin])).toThrow(/slug "clear-skin"/);
  });

  it.each(BOTH_COURSES)("renders every lesson of $slug with its own course's title and 'Lesson N of' count", async (course) => {
    for (const lesson of course.lessons) {
      const template = await lessonTemplate(lesson, testConfig(), course);
      const email = await composeLessonEmail(testConfig(), lesson, template, { subscriberId: "s1", email: "a@example.com", firstName: null, run: 1 }, course);
      expect(email.subject).toBe(lesson.subject);
      expect(email.text).toContain(`Lesson ${lesson.number} of ${course.lessons.length}`);
      expect(email.text).toContain(course.title);
      expect(email.tags).toContainEqual({ name: "course", value: course.slug });
      expect(email.tags).toContainEqual({ name: "lesson", value: String(lesson.number) });
    }
  });

  it("keeps the two courses' lesson 1 templates apart in the template cache", async () => {
    const a = await lessonTemplate(clearSkin.lessons[0]!, testConfig(), clearSkin);
    const b = await lessonTemplate(starterCourse.lessons[0]!, testConfig(), starterCourse);
    expect(a).not.toBe(b);
    const html = await renderEmail(createElement(STARTER_EMAILS[0]!, testLinks()));
    expect(html.text).toContain("Skin Basics Starter");
  });
});

function testLinks() {
  return {
    manageUrl: "https://x.test/m",
    unsubscribeUrl: "https://x.test/u",
    viewInBrowserUrl: "https://x.test/v",
    helpfulUrl: "https://x.test/f/h",
    notHelpfulUrl: "https://x.test/f/n",
    brandName: "Brand",
    postalAddress: "1 Street",
    appUrl: "https://x.test",
  };
}

describe("course pages", () => {
  let t: TestContext;
  afterEach(async () => t?.close());

  it("lists every course at /courses with a link to each course's page", async () => {
    t = await createTestContext({ courses: twoCourses() });
    const html = await (await t.app.request("/courses")).text();
    expect(html).toContain('href="/courses/clear-skin"');
    expect(html).toContain('href="/courses/skin-basics"');
    expect(html).toContain("Skin Basics Starter");
  });

  it("serves the default course at / and at /courses/clear-skin, and the starter with its own lessons and a course field", async () => {
    t = await createTestContext({ courses: twoCourses() });
    const home = await (await t.app.request("/")).text();
    const again = await (await t.app.request("/courses/clear-skin")).text();
    const starter = await (await t.app.request("/courses/skin-basics")).text();
    for (const page of [home, again]) expect(page).toContain("Clear Skin from the Inside Out");
    expect(home).not.toContain('name="course"');
    expect(starter).toContain("<h1>Skin Basics Starter</h1>");
    expect(starter).toContain("Sunscreen every day");
    expect(starter).toContain('name="course" value="skin-basics"');
  });

  it("answers an unknown course with a 404 that points to the course list", async () => {
    t = await createTestContext({ courses: twoCourses() });
    const res = await t.app.request("/courses/%3Cscript%3E");
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("/courses");
  });
});
