import { clearSkin } from "./clear-skin";
import { skinFoodStarter } from "./skin-food-starter";
import type { Course } from "./course";
import { DEFAULT_COURSE_SLUG } from "./default-slug";

/**
 * The courses this service runs. To add one, write its module (see README, "Add a course", or
 * `npm run course:new -- <slug>`) and list it here. The first course is the default: served at
 * `/`, and the course of rows and links made before there were several.
 */
export const BUILT_IN_COURSES: readonly Course[] = Object.freeze([clearSkin, skinFoodStarter]);

/** The course of rows, tokens and links that name none (made by the single-course releases). */
export { DEFAULT_COURSE_SLUG };

export interface CourseRegistry {
  /** Every course, default first. */
  allCourses(): readonly Course[];
  /** The course published under `slug`, or undefined. */
  courseBySlug(slug: string): Course | undefined;
  /** The course at `/` and of anything that names no course. */
  defaultCourse: Course;
}

/** A registry over `courses` (the first is the default). Throws if a slug repeats or the list is empty. */
export function createCourseRegistry(courses: readonly Course[] = BUILT_IN_COURSES): CourseRegistry {
  const first = courses[0];
  if (!first) throw new Error("A course registry needs at least one course");
  const bySlug = new Map<string, Course>();
  for (const course of courses) {
    if (bySlug.has(course.slug)) throw new Error(`Two courses use the slug "${course.slug}"`);
    bySlug.set(course.slug, course);
  }
  const list = Object.freeze([...courses]);
  return { allCourses: () => list, courseBySlug: (slug) => bySlug.get(slug), defaultCourse: first };
}

const builtIn = createCourseRegistry();

/** The built-in courses (`BUILT_IN_COURSES`), default first. Apps get theirs from `deps.courses`. */
export const allCourses = builtIn.allCourses;
/** A built-in course by slug. Apps look courses up in `deps.courses` (tests add fixture courses there). */
export const courseBySlug = builtIn.courseBySlug;
export const DEFAULT_COURSE: Course = builtIn.defaultCourse;

/** The registry an app runs with: `deps.courses`, else the built-in courses. */
export function coursesOf(deps: { courses?: CourseRegistry }): CourseRegistry {
  return deps.courses ?? builtIn;
}
