// `npm run build:emails`: renders every email of every registered course once with React Email
// (emails/_build/all.ts) into HTML and text templates with placeholders, and writes them to
// src/mail/templates.generated.ts, which the server and the Worker import (no React at run time).
// The output is committed, so a fresh clone and the Worker build need no step.
//
//   npm run build:emails                 render and write (only when the output changed)
//   npm run build:emails -- --check      render and exit 1 if the committed output differs (CI)
//   npm run build:emails -- --if-stale   cheap: rebuild only when an input's content changed
//                                        (a SHA-256 of the inputs is stored in the output)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { emailsStale, hashOf, OUTPUT } from "./emails-stale.mjs";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export { OUTPUT };
const ENTRY = "emails/_build/all.ts";

/** The project files the build reads: everything the entry imports outside node_modules, and this script. */
async function buildInputs(): Promise<string[]> {
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    bundle: true,
    write: false,
    metafile: true,
    platform: "node",
    format: "esm",
    packages: "external",
    jsx: "automatic",
    logLevel: "silent",
  });
  const inputs = Object.keys(result.metafile.inputs).filter((path) => !path.includes("node_modules") && path !== OUTPUT);
  return [...new Set([...inputs, relative(ROOT, fileURLToPath(import.meta.url))])].sort();
}

/** The generated module's source, rendered afresh. */
export async function freshSource(): Promise<string> {
  const inputs = await buildInputs();
  const { compileAllEmails, generatedSource } = await import("../emails/_build/all");
  return generatedSource(await compileAllEmails(), hashOf(inputs), inputs);
}

async function main(args: string[]): Promise<number> {
  const file = join(ROOT, OUTPUT);
  if (args.includes("--if-stale") && !emailsStale()) return 0;
  const started = performance.now();
  const source = await freshSource();
  const committed = existsSync(file) ? readFileSync(file, "utf8") : "";
  if (args.includes("--check")) {
    if (source === committed) {
      console.log(`${OUTPUT} is up to date with the email components.`);
      return 0;
    }
    console.error(`${OUTPUT} is stale: the emails render differently from the committed templates.\nRun \`npm run build:emails\` and commit ${OUTPUT}.`);
    return 1;
  }
  if (source !== committed) writeFileSync(file, source);
  const ms = Math.round(performance.now() - started);
  console.log(`${source === committed ? "unchanged" : "wrote"} ${OUTPUT} (${(source.length / 1024).toFixed(0)} KiB) in ${ms} ms`);
  return 0;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
