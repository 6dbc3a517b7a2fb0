/**
 * The events the service records (table `events`) and sends to webhook endpoints. Payloads never
 * carry personal data: ids, course slugs, lesson numbers and states only.
 */
export const EVENT_TYPES = [
  "subscriber.created",
  "subscriber.confirmed",
  "enrollment.started",
  "lesson.sent",
  "lesson.delivered",
  "lesson.opened",
  "lesson.clicked",
  /** Declared for lesson feedback; nothing writes it yet. */
  "lesson.rated",
  "enrollment.paused",
  "enrollment.resumed",
  "enrollment.completed",
  "enrollment.left",
  "subscriber.unsubscribed",
  "subscriber.bounced",
  "subscriber.complained",
  "subscriber.deleted",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** Sent only by "send test event"; never stored as a subscriber's event. */
export const TEST_EVENT_TYPE = "webhook.test";

export interface EventDraft {
  type: EventType;
  subscriberId: string | null;
  courseSlug: string | null;
  lesson: number | null;
  payload: Record<string, string | number | boolean | null>;
}
