import { z } from "zod";

/** RFC 5321 caps a forward path at 254 characters. */
export const MAX_EMAIL_LENGTH = 254;

/**
 * A deliverable-looking address, normalised: trimmed and lower-cased (providers treat addresses
 * case-insensitively in practice, and one person should be one subscriber).
 */
export const emailAddress = z
  .string({ error: "Please enter your email address." })
  .trim()
  .min(1, "Please enter your email address.")
  .max(MAX_EMAIL_LENGTH, "That email address is too long.")
  .pipe(z.email({ error: "Please enter a valid email address, like name@example.com." }))
  .transform((value) => value.toLowerCase());
