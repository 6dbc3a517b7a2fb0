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

/** Renders an email to HTML and to plain text, both from the same component. */
export async function renderEmail(element: ReactElement): Promise<RenderedEmail> {
  const [html, text] = await Promise.all([render(element), render(element, { plainText: true, htmlToTextOptions })]);
  return { html, text };
}
