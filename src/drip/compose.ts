import { lessonOf } from "../course";
import { composeLessonEmail, lessonTemplate } from "./lesson-email";
import type { Composed, Pass, Pending } from "./pass";

/**
 * The compose step of a pass: each member's lesson email. Members whose lesson the course no
 * longer has are left out. Counts the emails toward the pass's email budget.
 */
export async function compose(pass: Pass, pending: Pending[]): Promise<Composed[]> {
  const { config, course } = pass;
  // Concurrently, as WebCrypto signs the link tokens off the main thread.
  const composed = await Promise.all(
    pending.map(async (p): Promise<Composed | null> => {
      const lesson = lessonOf(course, p.row.lessonNumber);
      if (!lesson) return null;
      return { ...p, email: await composeLessonEmail(config, lesson, await lessonTemplate(lesson, config, course), p.row, course) };
    }),
  );
  const ready = composed.filter((c): c is Composed => c !== null);
  pass.scheduled += ready.length;
  return ready;
}
