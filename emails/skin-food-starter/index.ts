import Lesson1 from "./lesson-1";
import Lesson2 from "./lesson-2";
import Lesson3 from "./lesson-3";

/** This course's lesson emails in lesson order, for the build (emails/_build/registry.ts). */
export const LESSON_EMAILS = [Lesson1, Lesson2, Lesson3];
