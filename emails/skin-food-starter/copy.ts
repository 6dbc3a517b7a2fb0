import type { LayoutCourse } from "../_components/lesson-layout";

/** The course's copy: plain data, imported by its emails and by src/course/skin-food-starter.ts. */
export const COPY = {
  title: "The Skin-Friendly Plate: a 3-day starter",
  lessons: [
    {
      number: 1,
      slug: "food-and-skin-journal",
      title: "Start a food-and-skin journal",
      subject: "Day 1: Start a food-and-skin journal",
      preview: "A simple notebook habit that shows how your meals and your skin may be linked.",
      summary: "Track what you eat, how your gut feels and how your skin looks, and spot flare-ups 24–48 hours after a meal.",
      dayOffset: 0,
    },
    {
      number: 2,
      slug: "feed-the-good-bacteria",
      title: "Feed your good bacteria",
      subject: "Day 2: Feed your good bacteria",
      preview: "Fermented foods and prebiotic fibres: two easy ways to look after your gut.",
      summary: "Add a little fermented food and some prebiotic fibre, such as garlic, onions, asparagus and bananas.",
      dayOffset: 1,
    },
    {
      number: 3,
      slug: "anti-inflammatory-plate",
      title: "Build an anti-inflammatory plate",
      subject: "Day 3: Build an anti-inflammatory plate",
      preview: "Omega-3 fats and colourful foods, plus where to go from here.",
      summary: "Fill your plate with omega-3 fats and brightly coloured foods, and see where to go next.",
      dayOffset: 2,
    },
  ],
} as const satisfies LayoutCourse;
