import { DateTime, IANAZone } from "luxon";

/**
 * Schedule rules, as pure functions of instants (milliseconds since the epoch). Local times are
 * computed in the subscriber's IANA zone with luxon, so daylight-saving changes and half-hour
 * zones come out right.
 */

/** Never two lessons to one person within this span, so a late run never causes a burst. */
export const MIN_GAP_MS = 20 * 60 * 60 * 1000;

const FALLBACK_ZONE = "UTC";
const MAX_ZONE_LENGTH = 64;

/** Zone lookups are slow (Intl) and there are only a few hundred zones: remember the answers. */
const resolvedZones = new Map<string, string>();

/** A valid IANA zone name, or UTC for anything unknown. */
export function resolveTimeZone(zone: string | null | undefined): string {
  if (!zone || zone.length > MAX_ZONE_LENGTH) return FALLBACK_ZONE;
  let resolved = resolvedZones.get(zone);
  if (resolved === undefined) {
    resolved = IANAZone.isValidZone(zone) ? IANAZone.create(zone).name : FALLBACK_ZONE;
    if (resolvedZones.size < 1000) resolvedZones.set(zone, resolved);
  }
  return resolved;
}

/** The first `sendHour:00` local time strictly after `after`. */
export function nextSendHourAfter(after: number, timeZone: string, sendHour: number): number {
  const local = DateTime.fromMillis(after, { zone: resolveTimeZone(timeZone) });
  let candidate = local.startOf("day").set({ hour: sendHour });
  if (candidate.toMillis() <= after) candidate = candidate.plus({ days: 1 }).set({ hour: sendHour });
  return candidate.toMillis();
}

export interface NextLessonInput {
  /** When the previous lesson went out. */
  lastSentAt: number;
  /** Calendar days between the previous lesson's day offset and the next one's. */
  daysAfter: number;
  timeZone: string;
  sendHour: number;
}

/**
 * When the next lesson is due: at the send hour, `daysAfter` local calendar days after the previous
 * lesson's local date, and never sooner than MIN_GAP_MS after it (so a lesson sent late in the
 * evening is not followed by the next one the following morning).
 */
export function nextLessonDueAt({ lastSentAt, daysAfter, timeZone, sendHour }: NextLessonInput): number {
  const zone = resolveTimeZone(timeZone);
  const lastLocal = DateTime.fromMillis(lastSentAt, { zone });
  const planned = lastLocal.startOf("day").plus({ days: Math.max(0, daysAfter) }).set({ hour: sendHour }).toMillis();
  const earliest = lastSentAt + MIN_GAP_MS;
  return planned >= earliest ? planned : nextSendHourAfter(earliest - 1, zone, sendHour);
}

/**
 * When to send after a pause ends or a lapsed subscriber comes back: the next local send hour, and
 * not within MIN_GAP_MS of the last lesson.
 */
export function resumeDueAt(now: number, lastSentAt: number | null, timeZone: string, sendHour: number): number {
  const after = lastSentAt === null ? now : Math.max(now, lastSentAt + MIN_GAP_MS - 1);
  return nextSendHourAfter(after, timeZone, sendHour);
}

/** The local wall time of an instant, for pages ("Tuesday 3 March at 08:00"). */
export function formatLocal(instant: number, timeZone: string): string {
  return DateTime.fromMillis(instant, { zone: resolveTimeZone(timeZone) }).toFormat("cccc d LLLL yyyy 'at' HH:mm (ZZZZ)");
}
