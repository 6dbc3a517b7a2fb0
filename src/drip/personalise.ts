import escapeHtml from "escape-html";
import type { RenderedEmail } from "../course";
import { GREETING_FALLBACK } from "../course";

/**
 * Lessons are rendered once per pass with these marker strings as props, then each recipient's
 * copy is made by plain string replacement: React runs once per lesson, not once per email.
 * The markers use characters that neither React nor the plain-text converter escape.
 */
export const MARKERS = {
  firstName: "__CS_FIRST_NAME__",
  manageUrl: "https://marker.invalid/__CS_MANAGE_URL__",
  unsubscribeUrl: "https://marker.invalid/__CS_UNSUBSCRIBE_URL__",
  viewInBrowserUrl: "https://marker.invalid/__CS_VIEW_URL__",
  helpfulUrl: "https://marker.invalid/__CS_HELPFUL_URL__",
  notHelpfulUrl: "https://marker.invalid/__CS_NOT_HELPFUL_URL__",
} as const;

type MarkerKey = keyof typeof MARKERS;

/** One recipient's values: every marker's, with the first name possibly missing. */
export type Personalisation = Record<Exclude<MarkerKey, "firstName">, string> & { firstName: string | null };
const KEYS = Object.keys(MARKERS) as MarkerKey[];

/** A rendered template split at its markers, so personalising is one join, not repeated scans. */
export interface Template {
  html: (string | MarkerKey)[];
  text: (string | MarkerKey)[];
}

const pattern = new RegExp(`(${KEYS.map((key) => MARKERS[key].replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")})`);
const keyByMarker = new Map<string, MarkerKey>(KEYS.map((key) => [MARKERS[key], key]));

function split(source: string): (string | MarkerKey)[] {
  return source.split(pattern).map((part, index) => (index % 2 === 1 ? keyByMarker.get(part)! : part));
}

export function compileTemplate(rendered: RenderedEmail): Template {
  return { html: split(rendered.html), text: split(rendered.text) };
}

function fill(parts: (string | MarkerKey)[], values: Record<MarkerKey, string>): string {
  let out = "";
  for (let i = 0; i < parts.length; i++) out += i % 2 === 1 ? values[parts[i] as MarkerKey] : parts[i];
  return out;
}

/** One recipient's HTML and text: names are HTML-escaped in the HTML part, left as typed in the text. */
export function personalise(template: Template, who: Personalisation): RenderedEmail {
  const name = who.firstName?.trim() || GREETING_FALLBACK;
  const text = Object.fromEntries(KEYS.map((key) => [key, key === "firstName" ? name : who[key]])) as Record<MarkerKey, string>;
  const html = Object.fromEntries(KEYS.map((key) => [key, escapeHtml(text[key])])) as Record<MarkerKey, string>;
  return { html: fill(template.html, html), text: fill(template.text, text) };
}
