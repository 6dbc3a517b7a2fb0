import type { z } from "@hono/zod-openapi";
import { apiError } from "./errors";
import type { DeliveryRow, EventRow, Position, SubscriberWithEnrollments } from "./queries";
import type { Delivery, Event, Subscriber } from "./schemas";

/** Database rows → API shapes (ISO times, course slugs, "left" for a stopped enrollment). */

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrNull = (ms: number | null) => (ms === null ? null : iso(ms));

export function presentSubscriber({ subscriber: s, state, enrollments }: SubscriberWithEnrollments): z.infer<typeof Subscriber> {
  return {
    id: s.id,
    email: s.email,
    firstName: s.firstName,
    timeZone: s.timeZone,
    status: s.status,
    state,
    createdAt: iso(s.createdAt),
    confirmedAt: isoOrNull(s.confirmedAt),
    unsubscribedAt: isoOrNull(s.unsubscribedAt),
    enrollments: enrollments.map((e) => ({
      course: e.courseSlug,
      state: e.state === "stopped" ? "left" : e.state,
      run: e.run,
      nextLesson: e.nextLesson,
      nextSendAt: isoOrNull(e.nextSendAt),
      pausedUntil: isoOrNull(e.pausedUntil),
      startedAt: iso(e.startedAt),
      completedAt: isoOrNull(e.completedAt),
    })),
  };
}

export function presentDelivery(d: DeliveryRow): z.infer<typeof Delivery> {
  return {
    id: d.id,
    course: d.courseSlug,
    run: d.run,
    lesson: d.lessonNumber,
    status: d.status,
    attempts: d.attempts,
    createdAt: iso(d.createdAt),
    sentAt: isoOrNull(d.sentAt),
    updatedAt: iso(d.updatedAt),
  };
}

export function presentEvent(e: EventRow): z.infer<typeof Event> {
  return {
    id: e.id,
    type: e.type as z.infer<typeof Event>["type"],
    subscriberId: e.subscriberId,
    course: e.courseSlug,
    lesson: e.lesson,
    data: JSON.parse(e.payload) as Record<string, unknown>,
    createdAt: iso(e.createdAt),
  };
}

/** Cursors are opaque to clients: base64url of JSON. A cursor that does not decode is a 400. */
export function encodeCursor(value: unknown): string {
  return btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodeCursor(cursor: string): unknown {
  try {
    return JSON.parse(atob(cursor.replace(/-/g, "+").replace(/_/g, "/")));
  } catch {
    throw apiError("invalid_cursor", "That cursor is not valid: pass `nextCursor` from a previous page unchanged.");
  }
}

export function decodePosition(cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  const value = decodeCursor(cursor);
  if (Array.isArray(value) && value.length === 2 && Number.isSafeInteger(value[0]) && typeof value[1] === "string" && value[1].length <= 100) {
    return { createdAt: value[0] as number, id: value[1] };
  }
  throw apiError("invalid_cursor", "That cursor is not valid: pass `nextCursor` from a previous page unchanged.");
}

export function decodeEventCursor(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const value = decodeCursor(cursor);
  if (Number.isSafeInteger(value) && (value as number) >= 0) return value as number;
  throw apiError("invalid_cursor", "That cursor is not valid: pass `nextCursor` from a previous page unchanged.");
}
