import { senderParts } from "../lib/sender";
import { type EmailKind, escapeForHtml, type FieldName, FIELDS, type RecipientValues, shownValue, type SiteValues } from "./fields";

/**
 * Compiled emails: what `npm run build:emails` (scripts/build-emails.ts) writes into
 * src/mail/templates.generated.ts, and how the server and the Worker fill them, with no React.
 *
 * A part list alternates literal text (even indices) and slot names (odd indices): a slot is a
 * field of src/mail/fields.ts, or one of the two derived site slots below. Filling is one pass of
 * string concatenation per email: no regular expression, no scan of the template.
 */
export type Parts = readonly string[];

/**
 * Derived site slots. `sender`: the footer's sender lines (src/lib/sender.ts `senderParts`: the brand
 * is left out when the address starts with it). `previewPad`: the invisible characters React Email's
 * <Preview> pads the inbox preview with, whose count depends on the preview's length (only compiled
 * as a slot when the preview holds a site field).
 */
export const SENDER_SLOT = "sender";
export const PREVIEW_PAD_SLOT = "previewPad";

/**
 * `E` is the email kind (src/mail/fields.ts `EmailKind`) the template was compiled from: filling it
 * asks for exactly that kind's per-recipient fields (`RecipientValues<E>`). Type-level only.
 */
export interface CompiledTemplate<E extends EmailKind = EmailKind> {
  readonly kind?: E;
  html: Parts;
  text: Parts;
  /** When the preview text holds site fields: its static length and those fields (for `previewPad`). */
  preview?: { staticLength: number; fields: readonly FieldName[] };
}

export interface CompiledLesson {
  /** Rendered with `repliesWelcome: false` (REPLY_TO unset). */
  plain: CompiledTemplate<"lesson">;
  /** Rendered with `repliesWelcome: true`; the same object when the copy does not change. */
  repliesWelcome: CompiledTemplate<"lesson">;
}

export interface CompiledCourse {
  /** By lesson slug. */
  lessons: Readonly<Record<string, CompiledLesson>>;
  confirmation: CompiledTemplate<"confirmation">;
}

export interface CompiledEmails {
  courses: Readonly<Record<string, CompiledCourse>>;
  alreadySubscribed: CompiledTemplate<"alreadySubscribed">;
  signIn: CompiledTemplate<"signIn">;
}

/** A template with its site values filled in: only per-recipient slots remain. */
export interface Template<E extends EmailKind = EmailKind> {
  readonly kind?: E;
  html: Parts;
  text: Parts;
}

export interface FilledEmail {
  html: string;
  text: string;
}

/** React Email's <Preview> pads to this many characters with `PREVIEW_WHITESPACE` (react-email 6). */
const PREVIEW_MAX_LENGTH = 200;
const PREVIEW_WHITESPACE = "\xA0\u200C\u200B\u200D\uFEFF";
/** Pad characters per line: the build breaks the padding into short lines (RFC 5322's 998). */
const PAD_PER_LINE = 20;

function previewPad(template: CompiledTemplate, site: Record<string, string>): string {
  const info = template.preview;
  if (!info) return "";
  const length = info.fields.reduce((sum, field) => sum + (site[field] ?? "").length, info.staticLength);
  const pad = PREVIEW_WHITESPACE.repeat(Math.max(0, PREVIEW_MAX_LENGTH - length));
  const lines: string[] = [];
  for (let i = 0; i < pad.length; i += PAD_PER_LINE) lines.push(pad.slice(i, i + PAD_PER_LINE));
  return lines.join("\n");
}

/** The site slots' values for one configuration, per part (HTML, text). */
function siteSlotValues(template: CompiledTemplate, site: SiteValues): { html: Record<string, string>; text: Record<string, string> } {
  const text: Record<string, string> = { ...site };
  const html: Record<string, string> = {};
  for (const [name, value] of Object.entries(site)) html[name] = escapeForHtml(value);
  const sender = senderParts(site.brandName, site.postalAddress);
  html[SENDER_SLOT] = sender.map(escapeForHtml).join("<br/>");
  text[SENDER_SLOT] = sender.join("\n");
  html[PREVIEW_PAD_SLOT] = previewPad(template, site);
  text[PREVIEW_PAD_SLOT] = "";
  return { html, text };
}

function bindParts(parts: Parts, values: Record<string, string>): string[] {
  const out: string[] = [parts[0] ?? ""];
  for (let i = 1; i < parts.length; i += 2) {
    const slot = parts[i]!;
    const value = values[slot];
    if (value === undefined) out.push(slot, parts[i + 1] ?? "");
    else out[out.length - 1] += value + (parts[i + 1] ?? "");
  }
  return out;
}

const bound = new WeakMap<CompiledTemplate, Map<string, Template<never>>>();

/**
 * `template` with the site values of one configuration filled in, cached per template and values
 * for the life of the process or isolate (so each configuration pays this once).
 */
export function bindSite<E extends EmailKind>(template: CompiledTemplate<E>, site: SiteValues): Template<E> {
  const key = `${site.brandName}\n${site.postalAddress}\n${site.appUrl}`;
  let byKey = bound.get(template);
  if (!byKey) bound.set(template, (byKey = new Map()));
  let result = byKey.get(key);
  if (!result) {
    const values = siteSlotValues(template, site);
    result = { html: bindParts(template.html, values.html), text: bindParts(template.text, values.text) };
    byKey.set(key, result);
  }
  return result;
}

/** The parts with each slot's value in its place; throws for a slot `values` does not fill. */
function join(parts: Parts, values: Record<string, string>): string {
  let out = parts[0] ?? "";
  for (let i = 1; i < parts.length; i += 2) {
    const value = values[parts[i]!];
    if (value === undefined) throw new Error(`No value for the email field "${parts[i]}"`);
    out += value + parts[i + 1]!;
  }
  return out;
}

/**
 * One recipient's email from a site-bound template: each field's value escaped for HTML in the HTML
 * part and verbatim in the text part (text fields trimmed, with their fallback when blank). Throws
 * if the template has a slot `values` does not fill (a template built for another email kind).
 */
export function fillTemplate<E extends EmailKind>(template: Template<E>, values: RecipientValues<E>): FilledEmail {
  const text: Record<string, string> = {};
  const html: Record<string, string> = {};
  const given = values as Readonly<Partial<Record<FieldName, string | null | undefined>>>;
  for (const name of Object.keys(given) as FieldName[]) {
    if (!(name in FIELDS)) continue;
    const shown = shownValue(name, given[name]);
    text[name] = shown;
    html[name] = escapeForHtml(shown);
  }
  return { html: join(template.html, html), text: join(template.text, text) };
}
