import { and, eq } from "drizzle-orm";
import { DateTime } from "luxon";
import { MIN_GAP_MS, nextSendHourAfter, resolveTimeZone } from "../drip/schedule";
import type { Db } from "./client";
import { enrollments, subscribers } from "./schema";
import { findEnrollments, findSubscriber, type Enrollment } from "./subscribers";

/**
 * The details a subscriber can fix on the manage page: first name, time zone and the local hour
 * lessons arrive. Changing the zone or the hour moves the lesson already scheduled to the new local
 * hour; the lessons after it follow from the dispatcher, which reads the subscriber's `sendHour`.
 */

/** The hours offered on the manage page (local time, 24 h), with the words the page uses. */
export const SEND_HOUR_CHOICES = [
  { hour: 6, label: "Early morning (06:00)" },
  { hour: 8, label: "Morning (08:00)" },
  { hour: 12, label: "Noon (12:00)" },
  { hour: 18, label: "Evening (18:00)" },
] as const;

export const isSendHourChoice = (hour: number): boolean => SEND_HOUR_CHOICES.some((choice) => choice.hour === hour);

export interface Details {
  firstName: string | null;
  /** A valid IANA zone name (callers resolve it with `resolveTimeZone` first). */
  timeZone: string;
  /** Local hour 0–23. */
  sendHour: number;
}

/**
 * Where the scheduled lesson moves when the zone or hour changes: the same local calendar day it was
 * planned for (in the old zone), at the new hour in the new zone; if that is already past, or
 * within MIN_GAP_MS of the last lesson, or before a timed pause ends, the first new send hour after
 * the earliest allowed instant. All instants are ms since the epoch (UTC).
 */
export function movedDueAt(input: {
  dueAt: number;
  oldZone: string;
  newZone: string;
  sendHour: number;
  now: number;
  lastSentAt: number | null;
  pausedUntil: number | null;
}): number {
  const zone = resolveTimeZone(input.newZone);
  const planned = DateTime.fromMillis(input.dueAt, { zone: resolveTimeZone(input.oldZone) });
  const candidate = DateTime.fromObject({ year: planned.year, month: planned.month, day: planned.day, hour: input.sendHour }, { zone }).toMillis();
  const earliest = Math.max(input.now, input.pausedUntil ?? 0, input.lastSentAt === null ? 0 : input.lastSentAt + MIN_GAP_MS);
  return candidate >= earliest ? candidate : nextSendHourAfter(earliest - 1, zone, input.sendHour);
}

/** The lesson to move, if any: one scheduled in the future (a due lesson is already on its way). */
function scheduledLesson(enrollment: Enrollment | undefined, now: number): (Enrollment & { nextSendAt: number }) | undefined {
  if (!enrollment || enrollment.nextSendAt === null || enrollment.nextSendAt <= now) return undefined;
  if (enrollment.state !== "active" && enrollment.state !== "paused") return undefined;
  return enrollment as Enrollment & { nextSendAt: number };
}

export type DetailsOutcome = { ok: true } | { ok: false; reason: "not_found" };

/**
 * Saves the subscriber's details and moves the scheduled lesson of each of their courses, in one
 * batch. Each enrollment update is conditional on the due time it read, so a dispatcher pass or a
 * pause that changed the row meanwhile wins and is not overwritten. The manage page shows the
 * new times from a fresh read.
 */
export async function updateDetails(db: Db, subscriberId: string, details: Details, now: number): Promise<DetailsOutcome> {
  const subscriber = await findSubscriber(db, subscriberId);
  if (!subscriber) return { ok: false, reason: "not_found" };
  const scheduled = (await findEnrollments(db, subscriberId)).flatMap((e) => scheduledLesson(e, now) ?? []);
  const saveSubscriber = db
    .update(subscribers)
    .set({ firstName: details.firstName, timeZone: details.timeZone, sendHour: details.sendHour })
    .where(eq(subscribers.id, subscriberId));
  const moves = scheduled.map((enrollment) => {
    const nextSendAt = movedDueAt({
      dueAt: enrollment.nextSendAt,
      oldZone: subscriber.timeZone,
      newZone: details.timeZone,
      sendHour: details.sendHour,
      now,
      lastSentAt: enrollment.lastSentAt,
      pausedUntil: enrollment.pausedUntil,
    });
    const same = and(eq(enrollments.subscriberId, subscriberId), eq(enrollments.course, enrollment.course));
    return db
      .update(enrollments)
      .set({ nextSendAt, updatedAt: now })
      .where(and(same, eq(enrollments.nextSendAt, enrollment.nextSendAt), eq(enrollments.state, enrollment.state)));
  });
  await db.batch([saveSubscriber, ...moves]);
  return { ok: true };
}
