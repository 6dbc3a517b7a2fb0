import { createElement, type FunctionComponent, type ReactElement } from "react";
import { confirmationAbout } from "../../src/course/meta";
import { renderEmail, wrapHtmlLines } from "../../src/course/render";
import type { Course } from "../../src/course/course";
import { FIELD_NAMES, FIELDS, type FieldName, markerOf, markersFor } from "../../src/mail/fields";
import { type CompiledCourse, type CompiledTemplate, PREVIEW_PAD_SLOT, SENDER_SLOT } from "../../src/mail/template";
import ConfirmSubscriptionEmail from "../confirm-subscription";
import type { LessonEmailProps } from "../_components/lesson-props";

/**
 * Build time only (React): renders an email once with every field as its placeholder
 * (src/mail/fields.ts `markerOf`) and splits the result into the part lists the runtime fills
 * (src/mail/template.ts). Used by scripts/build-emails.ts, by the tests' fixture courses and by
 * the test that compares a filled template with a fresh render.
 */

const SLOTS = [...FIELD_NAMES, SENDER_SLOT, PREVIEW_PAD_SLOT];
const slotByMarker = new Map(SLOTS.map((slot) => [markerOf(slot), slot]));
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
const MARKER = new RegExp(`(${[...slotByMarker.keys()].map(escapeRegExp).join("|")})`);

/** The preview's hidden block as React Email 6 renders it: text, then a <div> of padding. */
const PREVIEW = /(data-skip-in-text="true">)([^<]*)(<div>)([\u00a0\u200b-\u200d\ufeff]*)(<\/div>)/;

const decodeHtml = (s: string) =>
  s.replaceAll("&lt;", "<").replaceAll("&gt;", ">").replaceAll("&quot;", '"').replaceAll("&#x27;", "'").replaceAll("&amp;", "&");

/**
 * When the inbox preview holds a site field (the sign-in email names the brand), the padding's
 * length depends on its value: make the padding a slot and record what the runtime needs to size it.
 */
function previewSlot(html: string): { html: string; preview?: CompiledTemplate["preview"] } {
  const match = PREVIEW.exec(html);
  if (!match || !MARKER.test(match[2]!)) return { html };
  const pieces = match[2]!.split(MARKER);
  const fields = pieces.filter((_, i) => i % 2 === 1).map((marker) => slotByMarker.get(marker) as FieldName);
  for (const field of fields) {
    if (FIELDS[field]?.scope !== "site") throw new Error(`The inbox preview may only hold site fields, not "${field}"`);
  }
  const staticLength = pieces.filter((_, i) => i % 2 === 0).reduce((sum, piece) => sum + decodeHtml(piece).length, 0);
  const replaced = html.replace(PREVIEW, (_, open: string, text: string, div: string, _pad: string, close: string) => `${open}${text}${div}${markerOf(PREVIEW_PAD_SLOT)}${close}`);
  return { html: replaced, preview: { staticLength, fields } };
}

function split(source: string, where: string): string[] {
  const parts = source.split(MARKER).map((part, i) => (i % 2 === 1 ? slotByMarker.get(part)! : part));
  for (let i = 0; i < parts.length; i += 2) {
    if (/__CS_|marker\.invalid/i.test(parts[i]!)) {
      throw new Error(`A field placeholder was changed while rendering (${where}): print fields verbatim, never re-cased, trimmed or encoded`);
    }
  }
  return parts;
}

/**
 * Compiles one email element rendered with `markersFor(...)` as its field props. `wrap: false`
 * (tests only) keeps React's one long line, to compare with a fresh unwrapped render byte for byte.
 */
export async function compileElement(element: ReactElement, options: { wrap?: boolean } = {}): Promise<CompiledTemplate<never>> {
  const rendered = await renderEmail(element, { wrap: false });
  const brand = markerOf("brandName");
  const address = markerOf("postalAddress");
  const sender = markerOf(SENDER_SLOT);
  const html0 = rendered.html.replaceAll(`${brand}<br/>${address}`, sender);
  const text = rendered.text.replaceAll(`${brand}\n${address}`, sender);
  const { html: html1, preview } = previewSlot(html0);
  // Wrapped here, with placeholders in place: lines stay short with any real value (see wrapHtmlLines).
  const html = options.wrap === false ? html1 : wrapHtmlLines(html1);
  return { html: split(html, "HTML"), text: split(text, "text"), ...(preview && { preview }) };
}

export type LessonComponent = FunctionComponent<LessonEmailProps>;

/** A lesson's two templates: REPLY_TO unset and set (`repliesWelcome` changes the copy). */
export async function compileLesson(Email: LessonComponent) {
  const markers = markersFor("lesson");
  const plain = await compileElement(createElement(Email, { ...markers, repliesWelcome: false }));
  const repliesWelcome = await compileElement(createElement(Email, { ...markers, repliesWelcome: true }));
  return { plain, repliesWelcome };
}

/**
 * Every email of `course`: its lessons (in order, components given in lesson order) and its
 * confirmation. Throws when the number of components and lessons differ.
 */
export async function compileCourse(course: Course, components: readonly LessonComponent[]): Promise<CompiledCourse> {
  if (components.length !== course.lessons.length) {
    throw new Error(`Course "${course.slug}" has ${course.lessons.length} lessons but ${components.length} lesson components (emails/_build/registry.ts)`);
  }
  const lessons: Record<string, Awaited<ReturnType<typeof compileLesson>>> = {};
  for (const [i, lesson] of course.lessons.entries()) lessons[lesson.slug] = await compileLesson(components[i]!);
  const confirmation = await compileElement(
    createElement(ConfirmSubscriptionEmail, { ...markersFor("confirmation"), course: confirmationAbout(course) }),
  );
  return { lessons, confirmation };
}
