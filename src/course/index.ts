export { COURSE, LESSON_COUNT, lessonByNumber, lessonBySlug, type Lesson } from "./lessons";
export { courseShape, defineCourse, lessonOf, lessonOfSlug, type Course, type CourseInput } from "./course";
export { allCourses, courseBySlug, coursesOf, createCourseRegistry, DEFAULT_COURSE, DEFAULT_COURSE_SLUG, type CourseRegistry } from "./registry";
export {
  COURSE_TITLE,
  COURSE_SLUG,
  CONFIRMATION_EMAIL,
  CONFIRM_LINK_TTL_HOURS,
  LESSON_META,
  type LessonMeta,
} from "./meta";
export { GREETING_FALLBACK } from "../mail/fields";
