// Whether src/mail/templates.generated.ts was built from the email sources as they are now: a
// SHA-256 over the renderer's package versions and every input file's bytes, compared with the
// hash the build stored in the output. Plain JavaScript, so `npm start` can ask without loading
// tsx (scripts/build-node.mjs); scripts/build-emails.ts stores the hash with the same function.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OUTPUT = "src/mail/templates.generated.ts";
/** The renderer's packages: a new version may render differently. */
const PACKAGES = ["react", "react-dom", "react-email", "@react-email/render"];

/** SHA-256 (hex) of the renderer's versions and the named input files (paths from the project root). */
export function hashOf(inputs) {
  const hash = createHash("sha256");
  for (const name of PACKAGES) {
    const manifest = join(ROOT, "node_modules", name, "package.json");
    const version = existsSync(manifest) ? JSON.parse(readFileSync(manifest, "utf8")).version : "(missing)";
    hash.update(`${name}@${version}\n`);
  }
  for (const input of inputs) {
    const file = join(ROOT, input);
    hash.update(`${input}\0${existsSync(file) ? readFileSync(file) : "(missing)"}\0`);
  }
  return hash.digest("hex");
}

/** Whether the committed output is missing or was built from other inputs than today's. */
export function emailsStale() {
  const file = join(ROOT, OUTPUT);
  if (!existsSync(file)) return true;
  const source = readFileSync(file, "utf8");
  const hash = /export const INPUT_HASH = "([0-9a-f]+)"/.exec(source)?.[1];
  const inputs = /export const INPUTS: readonly string\[\] = (\[[^\]]*\]);/.exec(source)?.[1];
  if (!hash || !inputs) return true;
  return hashOf(JSON.parse(inputs)) !== hash;
}

/** Builds the compiled emails (scripts/build-emails.ts, under tsx) only when they are stale. */
export function buildEmailsIfStale() {
  if (emailsStale()) execFileSync(process.execPath, ["--import", "tsx", join(ROOT, "scripts", "build-emails.ts")], { cwd: ROOT, stdio: "inherit" });
}

// `node scripts/emails-stale.mjs`: what `npm test`, `npm run dev` and the other scripts run
// first. Nothing changed costs a hash of the inputs, not a TypeScript loader.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) buildEmailsIfStale();
