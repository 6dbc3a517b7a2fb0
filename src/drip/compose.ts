import { lessonOf } from "../course";
import { composeLessonEmail, lessonTemplate } from "./lesson-email";
import type { Composed, Pass, Pending } from "./pass";

/**
 * The compose step of a pass: each member's lesson email. Members whose lesson the course no
 * longer has are left out. Counts the emails toward the pass's email budget.
 */
export async function compose(pass: Pass, pending: Pending[]): Promise<Composed[]> {
  const { config, course } = pass;
  // Each lesson's template once per batch (members usually share one lesson), not once per email.
  const templates = new Map<number, ReturnType<typeof lessonTemplate>>();
  const ready: Composed[] = [];
  for (const p of pending) {
    const lesson = lessonOf(course, p.row.lessonNumber);
    if (!lesson) continue;
    let template = templates.get(lesson.number);
    if (!template) templates.set(lesson.number, (template = lessonTemplate(lesson, config, course)));
    ready.push({ ...p, email: await composeLessonEmail(config, lesson, template, p.row, course) });
  }
  pass.scheduled += ready.length;
  return ready;
}
