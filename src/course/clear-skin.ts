import LessonGutSkinAxis from "../../emails/lesson-1-gut-skin-axis";
import LessonThreeSigns from "../../emails/lesson-2-three-signs";
import LessonSupportTheGutLining from "../../emails/lesson-3-support-the-gut-lining";
import LessonProbioticsAndPrebiotics from "../../emails/lesson-4-probiotics-and-prebiotics";
import LessonAntiInflammatoryPlate from "../../emails/lesson-5-anti-inflammatory-plate";
import LessonKeyTakeaways from "../../emails/lesson-6-key-takeaways";
import { defineCourse, type Lesson } from "./course";
import { COURSE_TITLE, LESSON_META } from "./meta";

/** Email component per lesson number; the copy itself lives in meta.ts (the emails import it too). */
const EMAILS: Record<number, Lesson["Email"]> = {
  1: LessonGutSkinAxis,
  2: LessonThreeSigns,
  3: LessonSupportTheGutLining,
  4: LessonProbioticsAndPrebiotics,
  5: LessonAntiInflammatoryPlate,
  6: LessonKeyTakeaways,
};

/** The gut–skin course: six lessons over two weeks. The default course (served at `/`). */
export const clearSkin = defineCourse({
  slug: "clear-skin",
  title: COURSE_TITLE,
  description:
    "A free six-lesson email course on the gut–skin axis: how your gut and your skin talk to each other, and gentle, food-first steps for calmer skin.",
  language: "en",
  lessons: LESSON_META.map(({ number, ...meta }) => {
    const Email = EMAILS[number];
    if (!Email) throw new Error(`Lesson ${number} has no email component`);
    return { ...meta, Email };
  }),
});
