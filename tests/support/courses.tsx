import { compileCourse } from "../../emails/_build/compile";
import { H2, P } from "../../emails/_components/content";
import { LessonLayout, type LayoutCourse } from "../../emails/_components/lesson-layout";
import type { LessonEmailProps } from "../../emails/_components/lesson-props";
import { clearSkin } from "../../src/course/clear-skin";
import { defineCourse } from "../../src/course/course";
import { createCourseRegistry } from "../../src/course/registry";

/**
 * A second course, three lessons on days 0, 1 and 3, so every behaviour is tested with two courses
 * that differ in length and schedule. Built the way `npm run course:new` scaffolds a course.
 */
const STARTER_COPY = {
  title: "Skin Basics Starter",
  lessons: [
    {
      number: 1,
      slug: "cleanse-gently",
      title: "Cleanse gently",
      subject: "Starter 1: Cleanse gently",
      preview: "Why less scrubbing means calmer skin.",
      summary: "A gentle cleansing routine.",
      dayOffset: 0,
    },
    {
      number: 2,
      slug: "moisturise",
      title: "Moisturise, even oily skin",
      subject: "Starter 2: Moisturise, even oily skin",
      preview: "A light moisturiser helps the skin barrier.",
      summary: "Why every skin type needs moisture.",
      dayOffset: 1,
    },
    {
      number: 3,
      slug: "sunscreen",
      title: "Sunscreen every day",
      subject: "Starter 3: Sunscreen every day",
      preview: "The one habit that protects healing skin.",
      summary: "Daily sun protection.",
      dayOffset: 3,
    },
  ],
} as const satisfies LayoutCourse;

function starterLesson(n: 1 | 2 | 3) {
  return function StarterLesson(props: LessonEmailProps) {
    const copy = STARTER_COPY.lessons[n - 1]!;
    return (
      <LessonLayout {...props} course={STARTER_COPY} lesson={n} comingNext="More in a day or two.">
        <H2>{copy.title}</H2>
        <P>{`${copy.summary} This is the starter course's lesson ${n}.`}</P>
      </LessonLayout>
    );
  };
}

/** The starter's lesson components, in lesson order (a built-in course lists its own in emails/_build/registry.ts). */
export const STARTER_EMAILS = [starterLesson(1), starterLesson(2), starterLesson(3)];

const starterInput = {
  slug: "skin-basics",
  title: STARTER_COPY.title,
  description: "A three-lesson starter on everyday skin care.",
  language: "en",
  lessons: STARTER_COPY.lessons.map(({ number: _number, ...meta }) => meta),
};

/**
 * Not a built-in course, so not in src/mail/templates.generated.ts: its emails are compiled here,
 * the way `npm run build:emails` compiles the built-in ones, and carried on the course value.
 */
export const starterCourse = defineCourse({ ...starterInput, emails: await compileCourse(defineCourse(starterInput), STARTER_EMAILS) });

export { clearSkin };

/** The registry tests run with: the default course and the starter. */
export const twoCourses = () => createCourseRegistry([clearSkin, starterCourse]);

/** Both courses, for `describe.each`: the fault matrix and journeys run once per course. */
export const BOTH_COURSES = [clearSkin, starterCourse] as const;
