import type { CourseShape, EnrollmentFacts, Snapshot } from "../lifecycle/machine";
import type { EventDraft, EventType } from "./types";

/**
 * The events a lifecycle step implies, from the snapshot before and after it (pure). Order: the
 * subscriber's confirmation, then what happened to the enrollment, then why mail stopped.
 * Enrollment events carry `courseSlug`, the course the step acted on (the store's `courseSlug`).
 * `lesson.sent` is not derived here: the dispatcher records it with the delivery (src/db/drip-queries.ts).
 */
export function lifecycleEvents(subscriberId: string, before: Snapshot, next: Snapshot, course: CourseShape, courseSlug: string): EventDraft[] {
  const draft = (type: EventType, payload: EventDraft["payload"] = {}, courseSlug: string | null = null): EventDraft => ({
    type,
    subscriberId,
    courseSlug,
    lesson: null,
    payload,
  });
  const b = before.subscriber;
  const n = next.subscriber;
  if (b && !n) return [draft("subscriber.deleted")];
  if (!b || !n) return [];
  const out: EventDraft[] = [];
  if (b.status !== "active" && n.status === "active") out.push(draft("subscriber.confirmed"));
  const enrollment = enrollmentEvent(before.enrollment, next.enrollment, course);
  if (enrollment) out.push(draft(enrollment.type, enrollment.payload, courseSlug));
  if (b.status !== n.status && (n.status === "unsubscribed" || n.status === "bounced" || n.status === "complained")) {
    out.push(draft(`subscriber.${n.status}`));
  }
  return out;
}

type Progress = "active" | "paused" | "completed" | "failed" | "left";

function progress(e: EnrollmentFacts, course: CourseShape): Progress {
  const finished = e.nextLesson > course.lessonCount;
  if (e.state === "completed" || ((e.state === "active" || e.state === "stopped") && finished)) return "completed";
  return e.state === "stopped" ? "left" : e.state;
}

const ON_ENTER: Partial<Record<Progress, EventType>> = {
  paused: "enrollment.paused",
  completed: "enrollment.completed",
  left: "enrollment.left",
};

function enrollmentEvent(before: EnrollmentFacts | null, after: EnrollmentFacts | null, course: CourseShape): { type: EventType; payload: EventDraft["payload"] } | undefined {
  if (!after) return undefined;
  if (!before || after.run !== before.run) return { type: "enrollment.started" as const, payload: { run: after.run } };
  const from = progress(before, course);
  const to = progress(after, course);
  if (from === to) return undefined;
  const type = to === "active" ? "enrollment.resumed" : ON_ENTER[to];
  return type ? { type, payload: { run: after.run, from, to } } : undefined;
}
