import { DateTime } from "luxon";
import { describe, expect, it } from "vitest";
import { MIN_GAP_MS, nextLessonDueAt, nextSendHourAfter, resolveTimeZone, resumeDueAt } from "../../src/drip/schedule";

const local = (instant: number, zone: string) => DateTime.fromMillis(instant, { zone });
const HOUR = 60 * 60 * 1000;

describe("time zones", () => {
  it("an unknown or empty zone falls back to UTC", () => {
    expect(resolveTimeZone("Mars/Olympus")).toBe("UTC");
    expect(resolveTimeZone("")).toBe("UTC");
    expect(resolveTimeZone(null)).toBe("UTC");
    expect(resolveTimeZone("x".repeat(500))).toBe("UTC");
  });

  it("a known zone is kept", () => {
    expect(resolveTimeZone("Pacific/Auckland")).toBe("Pacific/Auckland");
  });
});

describe("next lesson", () => {
  it("goes out at the send hour, the given number of local days later, in Pacific/Auckland", () => {
    const sent = Date.parse("2026-03-02T20:00:00Z"); // 09:00 on 3 March in Auckland (NZDT)
    const due = nextLessonDueAt({ lastSentAt: sent, daysAfter: 2, timeZone: "Pacific/Auckland", sendHour: 8 });
    expect(local(due, "Pacific/Auckland").toISO()).toBe("2026-03-05T08:00:00.000+13:00");
  });

  it("keeps 08:00 local across the spring-forward change in America/Los_Angeles", () => {
    const sent = Date.parse("2026-03-07T16:00:00Z"); // 08:00 PST on 7 March; DST starts 8 March
    const due = nextLessonDueAt({ lastSentAt: sent, daysAfter: 2, timeZone: "America/Los_Angeles", sendHour: 8 });
    expect(local(due, "America/Los_Angeles").toISO()).toBe("2026-03-09T08:00:00.000-07:00");
    expect(due - sent).toBe(47 * HOUR);
  });

  it("keeps 08:00 local across the fall-back change in America/Los_Angeles", () => {
    const sent = Date.parse("2026-10-31T15:00:00Z"); // 08:00 PDT on 31 October; DST ends 1 November
    const due = nextLessonDueAt({ lastSentAt: sent, daysAfter: 3, timeZone: "America/Los_Angeles", sendHour: 8 });
    expect(local(due, "America/Los_Angeles").toISO()).toBe("2026-11-03T08:00:00.000-08:00");
  });

  it("handles the half-hour offset of Asia/Kolkata", () => {
    const sent = Date.parse("2026-03-02T12:00:00Z");
    const due = nextLessonDueAt({ lastSentAt: sent, daysAfter: 2, timeZone: "Asia/Kolkata", sendHour: 8 });
    expect(new Date(due).toISOString()).toBe("2026-03-04T02:30:00.000Z");
  });

  it("is never within 20 hours of the previous lesson", () => {
    const sent = Date.parse("2026-03-02T23:30:00Z"); // late evening UTC
    const due = nextLessonDueAt({ lastSentAt: sent, daysAfter: 1, timeZone: "UTC", sendHour: 8 });
    expect(due - sent).toBeGreaterThanOrEqual(MIN_GAP_MS);
    expect(new Date(due).toISOString()).toBe("2026-03-04T08:00:00.000Z");
  });

  it("honours a configured send hour", () => {
    const sent = Date.parse("2026-03-02T12:00:00Z");
    const due = nextLessonDueAt({ lastSentAt: sent, daysAfter: 2, timeZone: "Europe/Berlin", sendHour: 18 });
    expect(local(due, "Europe/Berlin").toFormat("yyyy-MM-dd HH:mm")).toBe("2026-03-04 18:00");
  });
});

describe("resuming", () => {
  it("the next local send hour after now, no sooner than 20 hours after the last lesson", () => {
    const lastSent = Date.parse("2026-03-02T08:00:00Z");
    const now = Date.parse("2026-03-02T10:00:00Z");
    expect(new Date(resumeDueAt(now, lastSent, "UTC", 8)).toISOString()).toBe("2026-03-03T08:00:00.000Z");
    const later = Date.parse("2026-03-10T10:00:00Z");
    expect(new Date(resumeDueAt(later, lastSent, "UTC", 8)).toISOString()).toBe("2026-03-11T08:00:00.000Z");
  });

  it("the send hour today when it is still ahead", () => {
    const now = Date.parse("2026-03-10T05:00:00Z");
    expect(new Date(nextSendHourAfter(now, "UTC", 8)).toISOString()).toBe("2026-03-10T08:00:00.000Z");
  });
});
