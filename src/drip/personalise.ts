import type { RecipientValues } from "../mail/fields";
import { type FilledEmail, fillTemplate, type Template } from "../mail/template";

export type { Template };

/**
 * One recipient's values for a lesson email: every per-recipient lesson field of
 * src/mail/fields.ts (the first name may be missing; the greeting then falls back).
 */
export type Personalisation = RecipientValues<"lesson">;

/**
 * One recipient's HTML and text from a lesson template bound to the configuration
 * (src/mail/emails.ts `lessonTemplateFor`): values HTML-escaped as React would in the HTML part,
 * verbatim in the text part. One pass over the template's parts; no regular expressions.
 */
export function personalise(template: Template<"lesson">, who: Personalisation): FilledEmail {
  return fillTemplate(template, who);
}
