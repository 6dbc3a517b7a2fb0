import { IANAZone } from "luxon";
import { isSendHourChoice, type Details } from "../db/details";
import { resolveTimeZone } from "../drip/schedule";
import { timeZoneNames, type DetailsFormState } from "../pages/manage-details";
import { firstName } from "../lib/first-name";

/**
 * Validation of the manage page's details form. The first name follows the signup form's rules
 * (the same zod schema, imported, so both forms accept and refuse the same names); the zone must be
 * an IANA zone name; the hour one of the offered choices, or the subscriber's current hour.
 */

const asText = (value: unknown): string => (typeof value === "string" ? value : "");

export type ParsedDetails = { ok: true; details: Details } | { ok: false; state: DetailsFormState };

function parseZone(raw: string): string | undefined {
  const zone = raw.trim();
  if (zone.length === 0 || zone.length > 64) return undefined;
  // Stored under the list's spelling ("europe/berlin" → "Europe/Berlin").
  const listed = timeZoneNames().find((name) => name.toLowerCase() === zone.toLowerCase());
  if (listed) return listed;
  // `resolveTimeZone` maps unknown zones to UTC; here an unknown zone is the person's typo to fix.
  return IANAZone.isValidZone(zone) ? resolveTimeZone(zone) : undefined;
}

/** The submitted details, or the form state to show again with a message beside each bad field. */
export function parseDetails(body: Record<string, unknown>, currentHour: number): ParsedDetails {
  const submitted = { firstName: asText(body.firstName), timeZone: asText(body.timeZone), hour: asText(body.sendHour) };
  const errors: NonNullable<DetailsFormState["errors"]> = {};

  const name = firstName.safeParse(submitted.firstName);
  if (!name.success) errors.firstName = name.error.issues[0]?.message ?? "Please check your first name.";
  const timeZone = parseZone(submitted.timeZone);
  if (!timeZone) errors.timeZone = "Please choose your time zone from the list, for example Europe/Lisbon or America/New_York.";
  const hour = /^\d{1,2}$/.test(submitted.hour) ? Number(submitted.hour) : Number.NaN;
  const hourOk = isSendHourChoice(hour) || hour === currentHour;
  if (!hourOk) errors.sendHour = "Please choose one of the times in the list.";

  if (!name.success || !timeZone || !hourOk) {
    return {
      ok: false,
      state: { firstName: submitted.firstName, timeZone: submitted.timeZone, sendHour: hourOk ? hour : currentHour, errors },
    };
  }
  return { ok: true, details: { firstName: name.data ?? null, timeZone, sendHour: hour } };
}
