import { clearSkin } from "./clear-skin";
import { lessonOf, lessonOfSlug, type Lesson } from "./course";

/**
 * The single-course names of earlier releases, kept so callers can move to a `Course` value one at
 * a time: all of them mean the default course (clear-skin). New code takes a `Course`.
 */
export type { Lesson };

/** @deprecated Take a `Course` (src/course/registry.ts); this is the default course. */
export const COURSE = clearSkin;

/** @deprecated `course.lessons.length`. The default course's lesson count. */
export const LESSON_COUNT: number = clearSkin.lessons.length;

/** @deprecated `lessonOf(course, n)`. */
export function lessonByNumber(n: number): Lesson | undefined {
  return lessonOf(clearSkin, n);
}

/** @deprecated `lessonOfSlug(course, slug)`. */
export function lessonBySlug(slug: string): Lesson | undefined {
  return lessonOfSlug(clearSkin, slug);
}
