import { z } from "zod";
import { exampleValues, type FieldsIn, fieldsIn, FIELDS, type EmailKind, type FieldName, type Spec } from "../../src/mail/fields";

/** Absolute http(s) URL: every link in an email must work outside the app, so no relative hrefs. */
export const absoluteUrl = z.url({ protocol: /^https?$/ });

type FieldSchema<F extends FieldName> = Spec<F>["kind"] extends "url"
  ? typeof absoluteUrl
  : Spec<F> extends { fallback: string }
    ? z.ZodOptional<z.ZodNullable<z.ZodString>>
    : z.ZodString;

/**
 * The zod shape of the fields an email carries, derived from their one declaration
 * (src/mail/fields.ts): URLs are absolute, text with a fallback may be missing, other text is
 * non-empty. Components print these values verbatim (never trim, re-case, split or encode them):
 * the build renders them as placeholders that the server fills per configuration and recipient.
 */
export function fieldSchemas<E extends EmailKind>(kind: E): { [F in FieldsIn<E>]: FieldSchema<F> } {
  return Object.fromEntries(
    fieldsIn(kind).map((name) => {
      const spec: { kind: string; fallback?: string } = FIELDS[name];
      const schema = spec.kind === "url" ? absoluteUrl : spec.fallback !== undefined ? z.string().nullish() : z.string().min(1);
      return [name, schema];
    }),
  ) as { [F in FieldsIn<E>]: FieldSchema<F> };
}

/** Props every lesson email takes: the lesson fields, and whether replies are welcome. */
export const lessonPropsSchema = z.object({
  ...fieldSchemas("lesson"),
  /**
   * Per configuration, not per recipient: true when REPLY_TO is set, so lesson 1 may say "just
   * reply". The build compiles each lesson both ways.
   */
  repliesWelcome: z.boolean().optional(),
});

export type LessonEmailProps = z.infer<typeof lessonPropsSchema>;

/** Realistic values for the React Email preview and for tests (the fields' examples). */
export const lessonPreviewProps = { ...exampleValues("lesson"), repliesWelcome: true } satisfies LessonEmailProps;
