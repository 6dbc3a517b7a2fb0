import { COPY } from "../../emails/skin-food-starter/copy";
import { defineCourse } from "./course";

/** Its lesson emails are emails/skin-food-starter/lesson-*.tsx (listed in emails/_build/registry.ts). */
export const skinFoodStarter = defineCourse({
  slug: "skin-food-starter",
  title: COPY.title,
  description: "Three short emails, one a day: a food-and-skin journal, foods that feed your good gut bacteria, and an anti-inflammatory plate. A gentle way in before the full course.",
  language: "en",
  lessons: COPY.lessons.map(({ number: _number, ...meta }) => meta),
});
