/** @jsxImportSource hono/jsx */
import { SEND_HOUR_CHOICES } from "../db/details";
import { FORM_TOKEN_FIELD } from "../lib/form-token";

/** What the details form shows: the saved values, or what was just submitted with its errors. */
export interface DetailsFormState {
  firstName: string;
  timeZone: string;
  sendHour: number;
  errors?: Partial<Record<"firstName" | "timeZone" | "sendHour", string>>;
}

/**
 * Zones the IANA database renamed, which ICU (and so `Intl`) still lists under the old name; people
 * search for the current one ("Kyiv", "Kolkata"). Both names work everywhere as zone ids.
 */
const RENAMED_ZONES: Record<string, string> = {
  "Europe/Kiev": "Europe/Kyiv",
  "Asia/Calcutta": "Asia/Kolkata",
  "Asia/Katmandu": "Asia/Kathmandu",
  "Asia/Rangoon": "Asia/Yangon",
  "Asia/Saigon": "Asia/Ho_Chi_Minh",
  "America/Godthab": "America/Nuuk",
  "Pacific/Enderbury": "Pacific/Kanton",
};

let zoneNames: string[] | undefined;

/** Every IANA zone the runtime knows, under current names (plus UTC, which `Intl` lists under Etc/), sorted. */
export function timeZoneNames(): string[] {
  if (!zoneNames) {
    const supported = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
    const current = supported.map((zone) => RENAMED_ZONES[zone] ?? zone);
    zoneNames = (current.includes("UTC") ? current : ["UTC", ...current]).sort();
  }
  return zoneNames;
}

const hh = (hour: number) => `${String(hour).padStart(2, "0")}:00`;

/** The hours offered: the four choices, plus the subscriber's current hour if it is another one. */
export function hourChoices(current: number): { hour: number; label: string }[] {
  const choices: { hour: number; label: string }[] = [...SEND_HOUR_CHOICES];
  if (!choices.some((choice) => choice.hour === current)) choices.push({ hour: current, label: `As now (${hh(current)})` });
  return choices.sort((a, b) => a.hour - b.hour);
}

function FieldError(props: { id: string; message?: string }) {
  return props.message ? (
    <p id={props.id} class="error" role="alert">
      {props.message}
    </p>
  ) : null;
}

/**
 * First name, time zone and delivery hour in one form. Works without JavaScript: the zone is a text
 * input with a `<datalist>` (browsers filter it as you type), the hour a group of radio buttons.
 */
export function DetailsForm(props: { action: string; formToken: string; state: DetailsFormState }) {
  const { state } = props;
  const errors = state.errors ?? {};
  return (
    <section aria-labelledby="details-heading">
      <h2 id="details-heading">Your details</h2>
      <form method="post" action={props.action}>
        <input type="hidden" name={FORM_TOKEN_FIELD} value={props.formToken} />
        <div class="field">
          <label for="firstName">
            First name <span class="hint">(optional)</span>
          </label>
          <input
            id="firstName"
            name="firstName"
            type="text"
            autocomplete="given-name"
            maxlength={60}
            value={state.firstName}
            aria-invalid={errors.firstName ? "true" : undefined}
            aria-describedby={errors.firstName ? "firstName-error" : undefined}
          />
          <FieldError id="firstName-error" message={errors.firstName} />
        </div>
        <div class="field">
          <label for="timeZone">Time zone</label>
          <input
            id="timeZone"
            name="timeZone"
            type="text"
            list="time-zones"
            autocomplete="off"
            spellcheck={false}
            required
            maxlength={64}
            value={state.timeZone}
            aria-invalid={errors.timeZone ? "true" : undefined}
            aria-describedby={errors.timeZone ? "timeZone-hint timeZone-error" : "timeZone-hint"}
          />
          <p id="timeZone-hint" class="hint">
            Start typing a city, such as Lisbon or New_York, and pick it from the list.
          </p>
          <FieldError id="timeZone-error" message={errors.timeZone} />
          <datalist id="time-zones">
            {timeZoneNames().map((zone) => (
              <option value={zone} />
            ))}
          </datalist>
        </div>
        <fieldset class="field choices" aria-describedby={errors.sendHour ? "sendHour-error" : undefined}>
          <legend>When lessons arrive (your local time)</legend>
          {hourChoices(state.sendHour).map((choice) => (
            <label class="choice">
              <input type="radio" name="sendHour" value={String(choice.hour)} checked={choice.hour === state.sendHour} />{" "}
              {choice.label}
            </label>
          ))}
          <FieldError id="sendHour-error" message={errors.sendHour} />
        </fieldset>
        <button type="submit">Save my details</button>
      </form>
    </section>
  );
}
