import { z } from "zod";

export const FIRST_NAME_MAX = 60;

const LETTERS_ONLY = "Please use only letters, spaces, hyphens and apostrophes in your first name.";

/**
 * What a first name is made of, in any script: letters and combining marks (Unicode categories L
 * and M), ZERO WIDTH NON-JOINER / JOINER (U+200C, U+200D: Persian, Sinhala and others write names
 * with them), spaces, apostrophes (' ’), hyphens (- ‐) and dots ("J. R."). No digits, slashes, `@`
 * or `:`, so the form cannot put a link or an address in front of a stranger ("Hi www.example.com").
 */
const NAME_PATTERN = /^[\p{L}\p{M}\u200c\u200d' ’.\u2010-]*$/u;

/**
 * A signup's optional first name: control characters refused outright (not quietly tidied away),
 * runs of spaces collapsed, trimmed; empty → null. Must hold at least one letter, and no dot may
 * be followed by two letters (`example.com`, `www.x`).
 */
export const firstName = z
  .string({ error: "Please enter your first name as plain text." })
  .refine((value) => !/\p{Cc}/u.test(value), LETTERS_ONLY)
  .transform((value) => value.replace(/\p{Zs}+/gu, " ").trim())
  .pipe(
    z
      .string()
      .max(FIRST_NAME_MAX, `Please keep your first name under ${FIRST_NAME_MAX} characters.`)
      .refine((value) => NAME_PATTERN.test(value), LETTERS_ONLY)
      .refine((value) => value === "" || /\p{L}/u.test(value), LETTERS_ONLY)
      .refine((value) => !/\.\p{L}{2}/u.test(value), "Please enter just your first name."),
  )
  .transform((value) => (value === "" ? null : value))
  .nullish();
