import LessonGutSkinAxis from "../lesson-1-gut-skin-axis";
import LessonThreeSigns from "../lesson-2-three-signs";
import LessonSupportTheGutLining from "../lesson-3-support-the-gut-lining";
import LessonProbioticsAndPrebiotics from "../lesson-4-probiotics-and-prebiotics";
import LessonAntiInflammatoryPlate from "../lesson-5-anti-inflammatory-plate";
import LessonKeyTakeaways from "../lesson-6-key-takeaways";
import { LESSON_EMAILS as skinFoodStarter } from "../skin-food-starter";
import type { LessonComponent } from "./compile";

/**
 * Build time only: each registered course's lesson components, in lesson order, by course slug.
 * The course values in src/course/ carry no React; `npm run build:emails` finds the components
 * here, compiles them and the server and Worker send the compiled templates. A course in
 * src/course/registry.ts with no entry here fails the build with a message naming it.
 */
export const LESSON_COMPONENTS: Readonly<Record<string, readonly LessonComponent[]>> = {
  "clear-skin": [
    LessonGutSkinAxis,
    LessonThreeSigns,
    LessonSupportTheGutLining,
    LessonProbioticsAndPrebiotics,
    LessonAntiInflammatoryPlate,
    LessonKeyTakeaways,
  ],
  "skin-food-starter": skinFoodStarter,
};

/** The component of lesson `number` (1-based) of a built-in course; throws when there is none. */
export function lessonComponent(courseSlug: string, number: number): LessonComponent {
  const component = LESSON_COMPONENTS[courseSlug]?.[number - 1];
  if (!component) throw new Error(`No lesson ${number} component for course "${courseSlug}" in emails/_build/registry.ts`);
  return component;
}
