import { lessonOf } from "../course";
import { lessonTemplate } from "../mail/emails";
import { composeLessonEmail } from "./lesson-email";
import type { Composed, Pass, Pending } from "./pass";

/**
 * The compose step of a pass: each member's lesson email. Members whose lesson the course no
 * longer has are left out. Counts the emails toward the pass's email budget.
 */
export function compose(pass: Pass, pending: Pending[]): Composed[] {
  const { config, course } = pass;
  const ready: Composed[] = [];
  for (const p of pending) {
    const lesson = lessonOf(course, p.row.lessonNumber);
    if (!lesson) continue;
    // lessonTemplate is a lookup: site values are bound once per configuration (template.ts bindSite).
    ready.push({ ...p, email: composeLessonEmail(config, lesson, lessonTemplate(lesson, config, course), p.row, course) });
  }
  pass.scheduled += ready.length;
  return ready;
}
