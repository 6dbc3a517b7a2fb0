/**
 * What the console's sign-in email says, apart from the database code that issues the link, so the
 * email build (npm run build:emails) reads these two facts without importing the schema.
 */

/** A sign-in link works once, for 15 minutes. */
export const SIGN_IN_TTL_MS = 15 * 60 * 1000;

/** The sign-in email's subject (emails/admin-sign-in.tsx). */
export const ADMIN_SIGN_IN_SUBJECT = "Your sign-in link for the course console";
