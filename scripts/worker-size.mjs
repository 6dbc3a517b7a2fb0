#!/usr/bin/env node
// `npm run size:worker`: bundles the Worker exactly as `wrangler deploy` would (--dry-run, nothing
// is uploaded), prints its raw and gzipped size and the packages that weigh most, and exits 1 if
// the gzipped bundle is over our limit.
//
//   node scripts/worker-size.mjs [--limit-kib 400] [any other wrangler deploy flags, e.g. --env staging]
//
// Gzipped size is computed as wrangler reports it ("Total Upload: … / gzip: …"): all modules
// concatenated, gzip at the default level. Cloudflare's own limits are higher (3 MB on Workers
// Free, 10 MB on Paid, compressed); 400 KiB is this project's budget , because a smaller Worker
// starts faster (the startup limit is 1 s, and every cold isolate parses the whole bundle).

import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";

const execFileAsync = promisify(execFile);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const KIB = 1024;
const DEFAULT_LIMIT_KIB = 400;

function parseArgs(argv) {
  let limitKib = DEFAULT_LIMIT_KIB;
  const passThrough = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--limit-kib" || arg.startsWith("--limit-kib=")) {
      const value = arg.includes("=") ? arg.split("=")[1] : argv[++i];
      limitKib = Number(value);
      if (!Number.isFinite(limitKib) || limitKib <= 0) throw new Error(`bad --limit-kib ${value}`);
    } else if (arg === "--outdir" || arg.startsWith("--outdir=") || arg === "--metafile" || arg.startsWith("--metafile=")) {
      throw new Error(`${arg.split("=")[0]} is set by this script`);
    } else {
      passThrough.push(arg);
    }
  }
  return { limitKib, passThrough };
}

const kib = (bytes) => `${(bytes / KIB).toFixed(1)} KiB`;

/** The packages (or source folders) that contribute most bytes to the bundle, from esbuild's metafile. */
function heaviestInputs(metafile, outfile, count = 8) {
  const output = Object.entries(metafile.outputs).find(([path]) => resolve(ROOT, path) === outfile)?.[1];
  if (!output) return [];
  const totals = new Map();
  for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split("/").slice(0, 2).join("/");
    totals.set(pkg, (totals.get(pkg) ?? 0) + bytesInOutput);
  }
  return [...totals].sort((a, b) => b[1] - a[1]).slice(0, count);
}

async function main() {
  const { limitKib, passThrough } = parseArgs(process.argv.slice(2));
  const outdir = await mkdtemp(join(tmpdir(), "worker-size-"));
  const metafilePath = join(outdir, "metafile.json");
  const bundleDir = join(outdir, "bundle");
  try {
    const wrangler = createRequire(import.meta.url).resolve("wrangler/bin/wrangler.js");
    try {
      await execFileAsync(
        process.execPath,
        [wrangler, "deploy", "--dry-run", "--outdir", bundleDir, "--metafile", metafilePath, ...passThrough],
        {
          cwd: ROOT,
          env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", FORCE_COLOR: "0", NO_COLOR: "1" },
          maxBuffer: 64 * 1024 * 1024,
        },
      );
    } catch (error) {
      console.error(`wrangler deploy --dry-run failed:\n${error.stdout ?? ""}${error.stderr ?? error.message}`);
      process.exitCode = 1;
      return;
    }

    // The modules wrangler would upload: everything it wrote except source maps and its README.
    const files = (await readdir(bundleDir)).filter((name) => !name.endsWith(".map") && name !== "README.md").sort();
    const contents = await Promise.all(files.map((name) => readFile(join(bundleDir, name))));
    const raw = contents.reduce((sum, buffer) => sum + buffer.byteLength, 0);
    const gzipped = gzipSync(Buffer.concat(contents)).byteLength;
    const limit = limitKib * KIB;

    console.log(`Worker bundle (${files.join(", ")}):`);
    console.log(`  raw      ${kib(raw)} (${(raw / 1e6).toFixed(2)} MB)`);
    console.log(`  gzipped  ${kib(gzipped)} of the ${kib(limit)} limit (${Math.round((gzipped / limit) * 100)}%)`);

    const metafile = JSON.parse(await readFile(metafilePath, "utf8"));
    const heaviest = heaviestInputs(metafile, join(bundleDir, "worker.js"));
    if (heaviest.length > 0) {
      console.log("  heaviest inputs (raw bytes in the bundle):");
      for (const [name, bytes] of heaviest) console.log(`    ${kib(bytes).padStart(11)}  ${name}`);
    }

    if (gzipped > limit) {
      console.error(`\nThe gzipped Worker bundle is ${kib(gzipped - limit)} over the ${kib(limit)} limit.`);
      process.exitCode = 1;
    }
  } finally {
    await rm(outdir, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
