import type { ReactElement } from "react";
import type { LessonEmailProps } from "../../emails/_components/lesson-props";
import LessonGutSkinAxis from "../../emails/lesson-1-gut-skin-axis";
import LessonThreeSigns from "../../emails/lesson-2-three-signs";
import LessonSupportTheGutLining from "../../emails/lesson-3-support-the-gut-lining";
import LessonProbioticsAndPrebiotics from "../../emails/lesson-4-probiotics-and-prebiotics";
import LessonAntiInflammatoryPlate from "../../emails/lesson-5-anti-inflammatory-plate";
import LessonKeyTakeaways from "../../emails/lesson-6-key-takeaways";
import { COURSE_TITLE, LESSON_COUNT, LESSON_META, type LessonMeta } from "./meta";

export interface Lesson extends LessonMeta {
  /** The email component; render it with `renderEmail(<lesson.Email {...props} />)`. */
  Email: (props: LessonEmailProps) => ReactElement;
}

/** Email component per lesson number; the metadata itself lives in meta.ts. */
const EMAILS: Record<number, Lesson["Email"]> = {
  1: LessonGutSkinAxis,
  2: LessonThreeSigns,
  3: LessonSupportTheGutLining,
  4: LessonProbioticsAndPrebiotics,
  5: LessonAntiInflammatoryPlate,
  6: LessonKeyTakeaways,
};

function withEmail(meta: LessonMeta): Lesson {
  const Email = EMAILS[meta.number];
  if (!Email) throw new Error(`Lesson ${meta.number} has no email component`);
  return Object.freeze({ ...meta, Email });
}

export const COURSE: { readonly title: typeof COURSE_TITLE; readonly lessons: readonly Lesson[] } = Object.freeze({
  title: COURSE_TITLE,
  lessons: Object.freeze(LESSON_META.map(withEmail)),
});

export { LESSON_COUNT };

export function lessonByNumber(n: number): Lesson | undefined {
  return COURSE.lessons.find((lesson) => lesson.number === n);
}

export function lessonBySlug(slug: string): Lesson | undefined {
  return COURSE.lessons.find((lesson) => lesson.slug === slug);
}
