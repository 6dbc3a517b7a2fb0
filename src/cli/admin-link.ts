import { createSignInLink, SIGN_IN_TTL_MS } from "../admin/sessions";
import { applyMigrations } from "../db/migrate";
import { emailAddress } from "../lib/email-address";
import { loadConfigOrExit, openDatabase } from "../node-deps";

/**
 * `npm run admin:link -- <address>`: prints a one-time console sign-in link for an operator (an
 * address in ADMIN_EMAILS), for a first sign-in before mail is set up. The link works once, for
 * 15 minutes, exactly like a mailed one.
 */
const USAGE = "Usage: npm run admin:link -- <operator address>";

const config = loadConfigOrExit(process.env);
const parsed = emailAddress.safeParse(process.argv[2] ?? "");
if (!parsed.success) {
  console.error(`${process.argv[2] ? parsed.error.issues[0]?.message : "Give the operator's address."}\n${USAGE}`);
  process.exit(2);
}
if (config.adminEmails.length === 0) {
  console.error("The console is off: set ADMIN_EMAILS (comma-separated operator addresses) first.");
  process.exit(1);
}
if (!config.adminEmails.includes(parsed.data)) {
  console.error("That address is not in ADMIN_EMAILS.");
  process.exit(1);
}
const { db, client } = await openDatabase(config.database.url, config.database.authToken);
try {
  await applyMigrations(db);
  const link = await createSignInLink(db, config.appUrl, parsed.data, Date.now());
  console.log(`Sign-in link (works once, for ${SIGN_IN_TTL_MS / 60_000} minutes):\n${link}`);
} finally {
  client.close();
}
