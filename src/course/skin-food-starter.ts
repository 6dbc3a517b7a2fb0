import Lesson1 from "../../emails/skin-food-starter/lesson-1";
import Lesson2 from "../../emails/skin-food-starter/lesson-2";
import Lesson3 from "../../emails/skin-food-starter/lesson-3";
import { COPY } from "../../emails/skin-food-starter/copy";
import { defineCourse } from "./course";

const EMAILS = [Lesson1, Lesson2, Lesson3];

export const skinFoodStarter = defineCourse({
  slug: "skin-food-starter",
  title: COPY.title,
  description: "Three short emails, one a day: a food-and-skin journal, foods that feed your good gut bacteria, and an anti-inflammatory plate. A gentle way in before the full course.",
  language: "en",
  lessons: COPY.lessons.map(({ number, ...meta }) => ({ ...meta, Email: EMAILS[number - 1]! })),
});
