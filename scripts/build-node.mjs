// `npm run build`: bundles the Node server and the operator commands into dist-node/server/ with
// esbuild, with `process.env.NODE_ENV` compiled in as "production" so React and the other bundled
// libraries take their production paths. `--if-stale` (used by `npm start`) builds only when a
// source the last build read is newer than the bundle, so a start after an unchanged build costs
// a few hundred file checks.
//
// Why compile NODE_ENV in rather than set it in the environment: src/config.ts treats
// NODE_ENV=production in the *environment* as the operator's promise that APP_SECRET, APP_URL and
// DATABASE_URL are set, and refuses to start without them. `npm start` on a fresh clone must still
// run on its embedded defaults, so the bundle reads the environment's NODE_ENV for configuration
// and React's production build is chosen at build time.
//
// Files read at run time stay where they are: migrations/ is found relative to the bundle (two
// levels below the project root, like src/db/migrate.ts, so `../../migrations` still resolves),
// and data/ (database, outbox) is relative to the working directory, as with tsx.
import { build } from "esbuild";
import { buildEmailsIfStale } from "./emails-stale.mjs";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const OUT_DIR = join(root, "dist-node", "server");
const META = join(root, "dist-node", "meta.json");
const ENTRIES = { node: "src/node.ts", tick: "src/cli/tick.ts", migrate: "src/cli/migrate.ts" };
/** Changes to these rebuild too: they shape the bundle without being part of it. */
const ALSO_WATCHED = ["scripts/build-node.mjs", "package-lock.json", "tsconfig.json"];

/** Whether the last build is missing or older than any file it was built from. */
export function isStale() {
  if (!existsSync(META)) return true;
  const built = statSync(META).mtimeMs;
  let inputs;
  try {
    inputs = [...Object.keys(JSON.parse(readFileSync(META, "utf8")).inputs), ...ALSO_WATCHED];
  } catch {
    return true;
  }
  for (const name of Object.keys(ENTRIES)) if (!existsSync(join(OUT_DIR, `${name}.js`))) return true;
  return inputs.some((input) => {
    const file = join(root, input);
    // A file the build read that is gone now: the source changed.
    return !existsSync(file) || statSync(file).mtimeMs > built;
  });
}

/**
 * How Node code is bundled here (the server, and the benchmarks that must measure what `npm start`
 * runs): ESM for Node 20 with NODE_ENV compiled in as "production".
 */
export const NODE_BUNDLE = {
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  // The native libSQL driver loads a platform-specific binary with require(): it stays in node_modules.
  external: ["libsql"],
  define: { "process.env.NODE_ENV": '"production"' },
  // Bundled CommonJS dependencies call require() for Node built-ins; ESM has none of its own.
  banner: { js: 'import { createRequire as __createRequire } from "node:module"; const require = __createRequire(import.meta.url);' },
  jsx: "automatic",
  logLevel: "warning",
  legalComments: "none",
};

/**
 * Builds into `outDir` (default dist-node/server). Another folder must also sit two levels below
 * the project root, so the bundle finds migrations/ (tests build into dist-node/<name>/).
 */
export async function buildNode(outDir = OUT_DIR) {
  const result = await build({
    ...NODE_BUNDLE,
    absWorkingDir: root,
    entryPoints: ENTRIES,
    outdir: outDir,
    splitting: true,
    sourcemap: "linked",
    metafile: true,
  });
  if (outDir === OUT_DIR) writeFileSync(META, JSON.stringify(result.metafile));
  return result;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const ifStale = process.argv.includes("--if-stale");
  // The compiled emails first: the bundle imports src/mail/templates.generated.ts. Checked here
  // without tsx, so a start with nothing changed loads no TypeScript tooling.
  buildEmailsIfStale();
  if (ifStale && !isStale()) process.exit(0);
  const started = performance.now();
  await buildNode();
  const ms = Math.round(performance.now() - started);
  console.error(`Built the Node server into ${OUT_DIR.slice(root.length + 1)}/ in ${ms} ms (NODE_ENV=production compiled in).`);
}
