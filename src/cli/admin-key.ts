import { parseArgs } from "node:util";
import { createApiKey, listApiKeys, revokeApiKey } from "../api/keys";
import { applyMigrations } from "../db/migrate";
import { apiKeyScopes, type ApiKeyScope } from "../db/schema";
import { loadConfigOrExit, openDatabase } from "../node-deps";

/**
 * `npm run admin:key -- create <name> [--scope read|write]`  prints the new key once
 * `npm run admin:key -- list`                                 ids, names, prefixes, scopes, times
 * `npm run admin:key -- revoke <id|prefix>`
 * The key itself is printed only by `create` and is never stored (only its SHA-256).
 */
const USAGE = "Usage: npm run admin:key -- create <name> [--scope read|write] | list | revoke <id|prefix>";

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function parse() {
  try {
    const { values, positionals } = parseArgs({ allowPositionals: true, options: { scope: { type: "string", default: "read" } } });
    const [command, argument] = positionals;
    if (!apiKeyScopes.includes(values.scope as ApiKeyScope)) fail(`--scope must be read or write, got "${values.scope}"`);
    if (command === "create" || command === "revoke") {
      if (!argument?.trim()) fail(`${command} needs a ${command === "create" ? "name" : "key id or prefix"}`);
      return { command, argument: argument.trim().slice(0, 100), scope: values.scope as ApiKeyScope };
    }
    if (command === "list") return { command, argument: "", scope: values.scope as ApiKeyScope };
    return fail(command ? `Unknown command "${command}"` : "Missing command");
  } catch (error) {
    return fail(error instanceof Error ? error.message : String(error));
  }
}

const iso = (ms: number | null) => (ms === null ? "-" : new Date(ms).toISOString());

const args = parse();
const config = loadConfigOrExit(process.env);
const { db, client } = await openDatabase(config.database.url, config.database.authToken);
try {
  await applyMigrations(db);
  if (args.command === "create") {
    const { key, row } = await createApiKey(db, args.argument, args.scope, Date.now());
    console.log(`Created ${row.scope} key "${row.name}" (id ${row.id}, prefix ${row.prefix}).`);
    console.log("Store it now: it is shown only this once.");
    console.log(key);
  } else if (args.command === "list") {
    for (const k of await listApiKeys(db)) {
      console.log(`${k.id}  ${k.prefix}  ${k.scope.padEnd(5)}  ${k.name}  created ${iso(k.createdAt)}  last used ${iso(k.lastUsedAt)}  ${k.revokedAt ? `revoked ${iso(k.revokedAt)}` : "active"}`);
    }
  } else {
    const { revoked, ambiguous } = await revokeApiKey(db, args.argument, Date.now());
    if (ambiguous) fail(`"${args.argument}" matches several keys: use the id`);
    if (revoked.length === 0) {
      console.error(`No active key with id or prefix "${args.argument}".`);
      process.exitCode = 1;
    } else console.log(`Revoked key "${revoked[0]!.name}" (${revoked[0]!.prefix}).`);
  }
} finally {
  client.close();
}
