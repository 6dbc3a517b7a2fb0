import type { CourseShape } from "../lifecycle/machine";
import type { CompiledCourse } from "../mail/template";
import type { LessonMeta } from "./meta";

/**
 * One lesson of a course: its copy (meta.ts shape). Its email is compiled at build time from the
 * component listed in emails/_build/registry.ts (`npm run build:emails`); no React at run time.
 */
export type Lesson = LessonMeta;

/**
 * A course as a value: everything the pages, the emails, the dispatcher and the CLI need to know
 * about it. Courses are registered in `registry.ts`; nothing else imports a particular course.
 */
export interface Course {
  /** Stable identifier in URLs (`/courses/<slug>`), database rows, link tokens and provider tags; never rename. */
  slug: string;
  title: string;
  /** One or two sentences for the course list and the landing page's meta description. */
  description: string;
  /** BCP 47 language tag of the course's copy (the pages' and emails' `lang`). */
  language: string;
  /** Local hour (0–23) this course's lessons go out; undefined = the service's SEND_HOUR. */
  sendHour?: number;
  /** In order; `number` is the 1-based position. */
  lessons: readonly Lesson[];
  /**
   * The course's compiled emails, when they are not in src/mail/templates.generated.ts (a course
   * compiled elsewhere, such as the tests' fixture course); built-in courses leave it out.
   */
  emails?: CompiledCourse;
}

/** What a course module declares; `defineCourse` numbers the lessons and checks the whole. */
export interface CourseInput extends Omit<Course, "lessons"> {
  lessons: readonly Omit<Lesson, "number">[];
}

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * Builds a frozen course from its module's declaration. Throws (a programming error, caught by the
 * course tests) when a slug is not lower-case-with-hyphens, lesson slugs repeat, a subject is
 * longer than 60 characters, day offsets do not strictly increase, or the course has no lessons.
 */
export function defineCourse(input: CourseInput): Course {
  const problems: string[] = [];
  if (!SLUG.test(input.slug)) problems.push(`slug "${input.slug}" must be lower-case words joined by hyphens`);
  if (input.lessons.length === 0) problems.push("a course needs at least one lesson");
  if (input.sendHour !== undefined && !(Number.isInteger(input.sendHour) && input.sendHour >= 0 && input.sendHour <= 23)) {
    problems.push("sendHour must be an integer from 0 to 23");
  }
  input.lessons.forEach((lesson, i) => {
    if (!SLUG.test(lesson.slug)) problems.push(`lesson slug "${lesson.slug}" must be lower-case words joined by hyphens`);
    if (input.lessons.findIndex((l) => l.slug === lesson.slug) !== i) problems.push(`lesson slug "${lesson.slug}" is used twice`);
    if (lesson.subject.length > 60) problems.push(`lesson "${lesson.slug}": subject is longer than 60 characters`);
    const before = input.lessons[i - 1];
    if (before && lesson.dayOffset <= before.dayOffset) problems.push(`lesson "${lesson.slug}": day offsets must increase`);
  });
  if (problems.length > 0) throw new Error(`Course "${input.title}": ${problems.join("; ")}`);
  return Object.freeze({
    ...input,
    lessons: Object.freeze(input.lessons.map((lesson, i) => Object.freeze({ ...lesson, number: i + 1 }))),
  });
}

/** Lesson `n` (1-based) of `course`, or undefined past either end. */
export function lessonOf(course: Course, n: number): Lesson | undefined {
  return course.lessons.find((lesson) => lesson.number === n);
}

/** The lesson of `course` published under `slug`, or undefined. */
export function lessonOfSlug(course: Course, slug: string): Lesson | undefined {
  return course.lessons.find((lesson) => lesson.slug === slug);
}

/** What the lifecycle's transition table needs of a course (src/lifecycle/machine.ts). */
export function courseShape(course: Course): CourseShape {
  return { lessonCount: course.lessons.length, dayOffset: (n) => lessonOf(course, n)?.dayOffset };
}
