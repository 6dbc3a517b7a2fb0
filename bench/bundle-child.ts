import { build, type BuildOptions } from "esbuild";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { NODE_BUNDLE } from "../scripts/build-node.mjs";

// Running a benchmark child as the product runs: bundled like the server, with the server's node
// flags. Kept apart from support.ts because the children import that one, and esbuild and
// scripts/build-node.mjs must not be bundled into them.

/**
 * Bundles a benchmark child (e.g. bench/pass-child.ts) as `npm run build` bundles the server
 * (scripts/build-node.mjs `NODE_BUNDLE`: one ESM file, NODE_ENV compiled in as "production", no
 * TypeScript loader at run time), into dist-node/<name>/ (two levels below the project root, so
 * the bundle finds migrations/ as the server's does). `extra`: more esbuild options (e.g. plugins).
 * Returns the bundle's path.
 */
export async function bundleChild(script: string, name: string, extra: BuildOptions = {}): Promise<string> {
  const outfile = join("dist-node", name, script.replace(/^.*\//, "").replace(/\.ts$/, ".js"));
  await build({ ...NODE_BUNDLE, ...extra, entryPoints: [script], outfile });
  return outfile;
}

/**
 * The flags `npm start` gives node (package.json's `start` script, `node <flags> dist-node/server/node.js`),
 * so a benchmark child runs with the V8 settings the product runs with.
 */
export function startNodeFlags(): string[] {
  const start = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts.start ?? "";
  const flags = /\bnode\s+(.*?)\s*dist-node\/server\/node\.js/.exec(start)?.[1] ?? "";
  return flags.split(/\s+/).filter(Boolean);
}
