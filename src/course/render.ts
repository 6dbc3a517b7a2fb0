import type { ReactElement } from "react";
import { render } from "react-email";

/**
 * Plain-text conversion settings (passed to html-to-text through react-email). Links read as
 * "text (https://...)" so every URL is visible in the text part; a link whose text is its own URL
 * is printed once.
 */
const htmlToTextOptions = {
  selectors: [
    { selector: "a", options: { linkBrackets: ["(", ")"] as [string, string], hideLinkHrefIfSameAsText: true } },
  ],
};

export interface RenderedEmail {
  html: string;
  text: string;
}

/**
 * Renders an email to HTML and to plain text, both from the same component. Build-time and tests
 * only (React): the server and the Worker send compiled templates (scripts/build-emails.ts).
 * `wrap: false` leaves the HTML on React's one long line (the build wraps after placing fields).
 */
export async function renderEmail(element: ReactElement, options: { wrap?: boolean } = {}): Promise<RenderedEmail> {
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true, htmlToTextOptions })]);
  const expanded = expandMsoMarkers(html);
  return { html: options.wrap === false ? expanded : wrapHtmlLines(expanded), text };
}

/**
 * Outlook for Windows (Word's renderer) ignores `max-width`, so a fluid 600 px column fills the
 * whole window there. Components mark where the fixed-width table goes with `<MsoColumnStart />` /
 * `<MsoColumnEnd />` (emails/_components/mso.tsx), which React renders as placeholder elements;
 * here they become conditional comments that only Outlook for Windows reads.
 */
export const MSO_COLUMN_START =
  '<!--[if mso]><table role="presentation" width="600" align="center" cellpadding="0" cellspacing="0" border="0" style="width:600px"><tr><td style="width:600px"><![endif]-->';
export const MSO_COLUMN_END = "<!--[if mso]></td></tr></table><![endif]-->";

function expandMsoMarkers(html: string): string {
  return html.replaceAll("<x-mso-column-start></x-mso-column-start>", MSO_COLUMN_START).replaceAll("<x-mso-column-end></x-mso-column-end>", MSO_COLUMN_END);
}

/** Our longest line, counted as quoted-printable characters: well under RFC 5322's 998. */
export const MAX_HTML_LINE = 200;

/**
 * Breaks the one long line React renders into lines of at most `max` characters where it can: at a
 * space in text (never inside a tag), between two block or table tags, or inside the run of invisible characters that pads the
 * inbox preview, where a line break means the same to HTML as what was there. Lengths count what a
 * quoted-printable encoder writes (a non-ASCII character is 3 bytes, each written as `=XX`).
 * Why: a sender that passes long lines through (quoted-printable without soft breaks, or 8bit)
 * gives SpamAssassin's __LONGLINE (a raw line of 998+ characters), which with the preview's hidden
 * `display:none` text fires LONG_INVISIBLE_TEXT. A run with no break point (a long URL) stays
 * whole. Our emails have no `<pre>` or `white-space: pre`, where a space would matter.
 */
export function wrapHtmlLines(html: string, max = MAX_HTML_LINE): string {
  return html
    .split("\n")
    .flatMap((line) => wrapLine([...line], max))
    .join("\n");
}

/** Characters a quoted-printable encoder writes for `ch`. */
function qpWidth(ch: string): number {
  const code = ch.codePointAt(0)!;
  if (code < 0x80) return ch === "=" ? 3 : 1;
  return new TextEncoder().encode(ch).length * 3;
}

/**
 * Tags a line break may precede without changing the rendering: block and table structure (never
 * inline tags such as `<a>` or `<strong>`, where the break would show as a space).
 */
const BLOCK_TAG = /^<(?:\/?(?:html|head|body|meta|link|title|style|table|tbody|thead|tr|td|th|div|p|h[1-6]|hr|br|ul|ol|li)\b|!--\[)/i;
/** The preview's padding: invisible characters that mean nothing, so a break between two is harmless. */
const INVISIBLE = /^[\u00a0\u00ad\u034f\u200b-\u200f\u2060\ufeff]$/;

/** For each position, whether it is inside a tag (`<…>`): attribute values are never broken. */
function insideTags(chars: string[]): boolean[] {
  let inside = false;
  return chars.map((ch) => {
    if (ch === "<") inside = true;
    const here = inside;
    if (ch === ">") inside = false;
    return here;
  });
}

function isBreak(chars: string[], inTag: boolean[], i: number): boolean {
  const ch = chars[i]!;
  if (ch === " ") return !inTag[i];
  if (ch === "<") return chars[i - 1] === ">" && BLOCK_TAG.test(chars.slice(i, i + 12).join(""));
  return INVISIBLE.test(ch) && INVISIBLE.test(chars[i - 1] ?? "");
}

function wrapLine(chars: string[], max: number): string[] {
  const inTag = insideTags(chars);
  const out: string[] = [];
  let start = 0;
  while (true) {
    let width = 0;
    let end = start;
    while (end < chars.length && width + qpWidth(chars[end]!) <= max) width += qpWidth(chars[end++]!);
    if (end >= chars.length) break;
    const cut = breakPoint(chars, inTag, start, end);
    if (cut < 0) break;
    out.push(chars.slice(start, cut).join(""));
    // At a space the space becomes the line break; elsewhere the break is inserted.
    start = chars[cut] === " " ? cut + 1 : cut;
  }
  out.push(chars.slice(start).join(""));
  return out;
}

/** The last break point in (start, end], else the first one after `end`; -1 if there is none. */
function breakPoint(chars: string[], inTag: boolean[], start: number, end: number): number {
  for (let i = end; i > start; i--) if (isBreak(chars, inTag, i)) return i;
  for (let i = end + 1; i < chars.length; i++) if (isBreak(chars, inTag, i)) return i;
  return -1;
}
