import { defineCourse } from "./course";
import { COURSE_TITLE, LESSON_META } from "./meta";

/**
 * The gut–skin course: six lessons over two weeks. The default course (served at `/`). Its copy
 * lives in meta.ts; its lesson emails are emails/lesson-*.tsx (listed in emails/_build/registry.ts).
 */
export const clearSkin = defineCourse({
  slug: "clear-skin",
  title: COURSE_TITLE,
  description:
    "A free six-lesson email course on the gut–skin axis: how your gut and your skin talk to each other, and gentle, food-first steps for calmer skin.",
  language: "en",
  lessons: LESSON_META.map(({ number: _number, ...meta }) => meta),
});
