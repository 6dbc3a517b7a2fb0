import { describe, expect, expectTypeOf, it } from "vitest";
import {
  allCourses,
  COURSE,
  LESSON_COUNT,
  lessonByNumber,
  lessonBySlug,
} from "../../src/course";
import type { LessonEmailProps } from "../../emails/_components/lesson-props";
import type { ConfirmSubscriptionProps } from "../../emails/confirm-subscription";
import { lessonComponent } from "../../emails/_build/registry";
import type { AlreadySubscribedProps } from "../../emails/already-subscribed";
import { ALREADY_SUBSCRIBED_EMAIL, CONFIRMATION_EMAIL } from "../../src/course/meta";

describe("the course definition", () => {
  it("is titled Clear Skin from the Inside Out and has six lessons", () => {
    expect(COURSE.title).toBe("Clear Skin from the Inside Out");
    expect(COURSE.lessons).toHaveLength(6);
    expect(LESSON_COUNT).toBe(6);
  });

  it("numbers the lessons 1 to 6 in order", () => {
    expect(COURSE.lessons.map((lesson) => lesson.number)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("sends lesson 1 at confirmation and every later lesson strictly after the one before", () => {
    const offsets = COURSE.lessons.map((lesson) => lesson.dayOffset);
    expect(offsets[0]).toBe(0);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBeGreaterThan(offsets[i - 1] ?? Infinity);
  });

  it("keeps every subject within 60 characters and gives each lesson a preview and summary", () => {
    for (const lesson of COURSE.lessons) {
      expect(lesson.subject.length, lesson.subject).toBeLessThanOrEqual(60);
      expect(lesson.subject).toContain(`Lesson ${lesson.number}`);
      expect(lesson.preview.length).toBeGreaterThan(20);
      expect(lesson.preview.length).toBeLessThanOrEqual(150);
      expect(lesson.summary).toMatch(/^[A-Z].*\.$/);
      expect(lesson.title.length).toBeGreaterThan(0);
    }
  });

  it("keeps the confirmation and already-subscribed subjects within 60 characters, each with a preview", () => {
    for (const email of [CONFIRMATION_EMAIL, ALREADY_SUBSCRIBED_EMAIL]) {
      expect(email.subject.length, email.subject).toBeLessThanOrEqual(60);
      expect(email.subject).toContain(COURSE.title);
      expect(email.preview.length).toBeGreaterThan(20);
      expect(email.preview.length).toBeLessThanOrEqual(150);
    }
  });

  it("gives each lesson a unique, URL-safe slug", () => {
    const slugs = COURSE.lessons.map((lesson) => lesson.slug);
    expect(new Set(slugs).size).toBe(slugs.length);
    for (const slug of slugs) expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  it("finds lessons by number and by slug, and returns undefined for unknown ones", () => {
    for (const lesson of COURSE.lessons) {
      expect(lessonByNumber(lesson.number)).toBe(lesson);
      expect(lessonBySlug(lesson.slug)).toBe(lesson);
    }
    expect(lessonByNumber(0)).toBeUndefined();
    expect(lessonByNumber(7)).toBeUndefined();
    expect(lessonBySlug("no-such-lesson")).toBeUndefined();
  });

  it("the email build has a component for every lesson", () => {
    for (const lesson of COURSE.lessons) expect(typeof lessonComponent(COURSE.slug, lesson.number)).toBe("function");
  });

  it("keeps the props contract the dispatcher and routes rely on", () => {
    expectTypeOf<LessonEmailProps>().toEqualTypeOf<{
      firstName?: string | null | undefined;
      manageUrl: string;
      unsubscribeUrl: string;
      viewInBrowserUrl: string;
      helpfulUrl: string;
      notHelpfulUrl: string;
      repliesWelcome?: boolean | undefined;
      brandName: string;
      postalAddress: string;
      appUrl: string;
    }>();
    expectTypeOf<AlreadySubscribedProps>().toEqualTypeOf<{
      firstName?: string | null | undefined;
      manageUrl: string;
      brandName: string;
      postalAddress: string;
      appUrl: string;
    }>();
    expectTypeOf<ConfirmSubscriptionProps>().toEqualTypeOf<{
      firstName?: string | null | undefined;
      confirmUrl: string;
      brandName: string;
      postalAddress: string;
      appUrl: string;
      course?: { title: string; lessonCount: number; days: number } | undefined;
    }>();
  });
});

describe.each(allCourses().map((course) => ({ slug: course.slug, course })))("every registered course: $slug", ({ course }) => {
  it("sends lesson 1 at confirmation and every later lesson strictly after the one before", () => {
    const offsets = course.lessons.map((lesson) => lesson.dayOffset);
    expect(offsets[0]).toBe(0);
    for (let i = 1; i < offsets.length; i++) expect(offsets[i]).toBeGreaterThan(offsets[i - 1] ?? Infinity);
  });

  it("keeps every subject within 60 characters and gives each lesson a title, preview and summary", () => {
    for (const lesson of course.lessons) {
      expect(lesson.subject.length, lesson.subject).toBeLessThanOrEqual(60);
      expect(lesson.preview.length).toBeGreaterThan(20);
      expect(lesson.preview.length).toBeLessThanOrEqual(150);
      expect(lesson.summary).toMatch(/^[A-Z].*\.$/);
      expect(lesson.title.length).toBeGreaterThan(0);
    }
  });

  it("gives each lesson a unique, URL-safe slug and an email component", () => {
    const slugs = course.lessons.map((lesson) => lesson.slug);
    expect(new Set(slugs).size).toBe(slugs.length);
    for (const slug of slugs) expect(slug).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    for (const lesson of course.lessons) expect(typeof lessonComponent(course.slug, lesson.number)).toBe("function");
  });

  it("has a title and a one-line description for the course list", () => {
    expect(course.title.length).toBeGreaterThan(0);
    expect(course.description.length).toBeGreaterThan(20);
  });
});
