/**
 * The one declaration of every value an email is personalised with. Everything else derives from
 * it: the placeholder each field is rendered as at build time (`markerOf`), how a value is escaped
 * in each part (`escapeForHtml` for the HTML text and attributes, verbatim for plain text), the
 * email components' prop types (emails/_components/lesson-props.ts), the values `email dev` and the
 * tests render with (`exampleValues`), and which emails carry the field (`emails`).
 *
 * Adding a link is one entry here (with the emails it appears in) and its use in a component; the
 * type of the values each email is filled with then asks the sender for it.
 *
 * No React here: the server and the Worker import this module.
 */

/** Who greets a reader whose first name we don't know: "Hi there,". */
export const GREETING_FALLBACK = "there";

/**
 * `text`: words shown to the reader (escaped as HTML text in the HTML part). `url`: an absolute
 * http(s) URL used as a link's href (escaped as an HTML attribute; React escapes both alike).
 */
export type FieldKind = "text" | "url";

/** `site`: the same for every email under one configuration. `recipient`: one value per email. */
export type FieldScope = "site" | "recipient";

/** The emails the build compiles (scripts/build-emails.ts). */
export type EmailKind = "lesson" | "confirmation" | "alreadySubscribed" | "signIn";

export interface FieldSpec {
  kind: FieldKind;
  scope: FieldScope;
  /** Emails that carry the field; site fields are in every email. */
  emails: readonly EmailKind[];
  /** A realistic value, for `email dev` and for tests. */
  example: string;
  /** Text fields: shown when the value is missing or blank (after trimming). */
  fallback?: string;
}

const ALL: readonly EmailKind[] = ["lesson", "confirmation", "alreadySubscribed", "signIn"];

export const FIELDS = {
  // Per recipient.
  firstName: { kind: "text", scope: "recipient", emails: ["lesson", "confirmation", "alreadySubscribed"], example: "Maya", fallback: GREETING_FALLBACK },
  manageUrl: { kind: "url", scope: "recipient", emails: ["lesson", "alreadySubscribed"], example: "http://localhost:3000/manage/preview-token" },
  unsubscribeUrl: { kind: "url", scope: "recipient", emails: ["lesson"], example: "http://localhost:3000/unsubscribe/preview-token" },
  viewInBrowserUrl: { kind: "url", scope: "recipient", emails: ["lesson"], example: "http://localhost:3000/lessons/preview-token" },
  /** "Was this lesson helpful?" (emails/_components/lesson-feedback.tsx). */
  helpfulUrl: { kind: "url", scope: "recipient", emails: ["lesson"], example: "http://localhost:3000/feedback/preview-token/helpful" },
  notHelpfulUrl: { kind: "url", scope: "recipient", emails: ["lesson"], example: "http://localhost:3000/feedback/preview-token/not-helpful" },
  confirmUrl: {
    kind: "url",
    scope: "recipient",
    emails: ["confirmation"],
    example: "http://localhost:3000/confirm/eyJzdWIiOiJwcmV2aWV3In0.c2lnbmF0dXJlLXByZXZpZXctb25seQ",
  },
  signInUrl: { kind: "url", scope: "recipient", emails: ["signIn"], example: "http://localhost:3000/admin/sign-in?token=preview-only-token" },
  // Per configuration (BRAND_NAME, MAIL_POSTAL_ADDRESS, APP_URL).
  brandName: { kind: "text", scope: "site", emails: ALL, example: "Natural Acne Medicine" },
  postalAddress: { kind: "text", scope: "site", emails: ALL, example: "123 Example Street, Springfield, ST 00000, USA" },
  appUrl: { kind: "url", scope: "site", emails: ALL, example: "http://localhost:3000" },
} as const satisfies Record<string, FieldSpec>;

export type FieldName = keyof typeof FIELDS;
export type Spec<F extends FieldName> = (typeof FIELDS)[F];

/** The fields of one scope. */
export type FieldsOf<S extends FieldScope> = { [F in FieldName]: Spec<F>["scope"] extends S ? F : never }[FieldName];
/** The fields an email carries. */
export type FieldsIn<E extends EmailKind> = { [F in FieldName]: E extends Spec<F>["emails"][number] ? F : never }[FieldName];

/** A field's value: text fields with a fallback may be missing (null/undefined). */
type ValueOf<F extends FieldName> = Spec<F> extends { fallback: string } ? string | null | undefined : string;

/** The values one email of kind `E` is filled with, per scope: what a sender must supply. */
export type FieldValues<E extends EmailKind, S extends FieldScope = FieldScope> = {
  [F in FieldsIn<E> & FieldsOf<S>]: ValueOf<F>;
};
export type SiteValues = { [F in FieldsOf<"site">]: string };
export type RecipientValues<E extends EmailKind> = FieldValues<E, "recipient">;

export const FIELD_NAMES = Object.keys(FIELDS) as FieldName[];

/** The fields email kind `kind` carries, in declaration order. */
export function fieldsIn<E extends EmailKind>(kind: E): FieldsIn<E>[] {
  return FIELD_NAMES.filter((name) => (FIELDS[name].emails as readonly EmailKind[]).includes(kind)) as FieldsIn<E>[];
}

/**
 * The placeholder a field is rendered as at build time. Upper-case letters, digits and `_` only:
 * React and the plain-text converter print them unchanged (headings are upper-cased in the text
 * part, which leaves them alone). URL fields look like an absolute URL, as links expect.
 */
export function markerOf(name: string): string {
  const word = `__CS_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}__`;
  return (FIELDS as Record<string, FieldSpec>)[name]?.kind === "url" ? `https://marker.invalid/${word}` : word;
}

/** Every field's placeholder, for rendering a template (`markersFor("lesson")` gives lesson props). */
export function markersFor<E extends EmailKind>(kind: E): { [F in FieldsIn<E>]: string } {
  return Object.fromEntries(fieldsIn(kind).map((name) => [name, markerOf(name)])) as { [F in FieldsIn<E>]: string };
}

/** Every field's example value, for `email dev` previews and tests. */
export function exampleValues<E extends EmailKind>(kind: E): { [F in FieldsIn<E>]: string } {
  return Object.fromEntries(fieldsIn(kind).map((name) => [name, FIELDS[name].example])) as { [F in FieldsIn<E>]: string };
}

const HTML_SPECIAL = /[&<>"']/;

/**
 * A value as React writes it into HTML text and attribute values (react-dom's escapeTextForBrowser:
 * `&`, `<`, `>`, `"` and `'`), so a filled template equals a fresh render byte for byte.
 */
export function escapeForHtml(value: string): string {
  if (!HTML_SPECIAL.test(value)) return value;
  return value.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;").replaceAll("'", "&#x27;");
}

/** A field's value as it is shown: text fields trimmed, with their fallback when blank. */
export function shownValue(name: FieldName, value: string | null | undefined): string {
  const spec: FieldSpec = FIELDS[name];
  if (spec.kind === "text" && spec.fallback !== undefined) return value?.trim() || spec.fallback;
  return value ?? "";
}
