// `npm run bench:startup`: time from spawn to the first GET /healthz 200, and idle resident memory,
// for the development start (`npm run dev`: tsx watch) and the production start (`npm start`: the
// esbuild bundle, already built; and the bundle run by node directly, as under systemd), side by side. Each run gets a fresh temporary database (so the
// time includes creating it and applying the migrations) and a free port. Runs alternate between
// the two starts so background load hits both alike; the table shows medians.
//
//   npm run bench:startup -- --runs 5 --idle-ms 3000
//
// "server" is the process running the app (the deepest of the tree: below npm, sh and tsx's
// watcher); "tree" sums every process the command started, which is what the machine pays.
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { buildNode, isStale } from "../scripts/build-node.mjs";
import { memoryOf, startServerProcess } from "../scripts/server-process.mjs";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" }, "idle-ms": { type: "string", default: "3000" } } });
const RUNS = Number(values.runs);
const IDLE_MS = Number(values["idle-ms"]);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

const STARTS = [
  { name: "development: npm run dev (tsx watch)", command: npm, args: ["run", "--silent", "dev"] },
  { name: "production: npm start (built bundle)", command: npm, args: ["start", "--silent"] },
  // As the systemd unit in the README runs it: no npm in between.
  { name: "production: node dist-node/server/node.js", command: process.execPath, args: ["dist-node/server/node.js"] },
];

/** One start: fresh database, free port; time to healthy, then memory after `IDLE_MS` of idling. */
async function measure(start) {
  const dir = mkdtempSync(join(tmpdir(), "course-startup-"));
  // Development defaults, as a new user runs it: no Resend key (outbox), no NODE_ENV in the environment.
  const env = { DATABASE_URL: `file:${join(dir, "course.db")}`, OUTBOX_DIR: join(dir, "outbox"), NODE_ENV: "" };
  const server = await startServerProcess({ command: start.command, args: start.args, env });
  try {
    const healthyMs = await server.waitHealthy();
    await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
    const memory = memoryOf(server.child.pid);
    return { healthyMs, ...memory };
  } finally {
    await server.stop("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

if (isStale()) {
  console.log("Building the bundle first (npm start would, once)…");
  await buildNode();
}
console.log(`Node ${process.version}, ${cpus().length} CPU(s); ${RUNS} run(s) of each start, alternating; memory read after ${IDLE_MS} ms idle.\n`);

const results = new Map(STARTS.map((s) => [s.name, []]));
for (let run = 1; run <= RUNS; run++) {
  for (const start of STARTS) {
    const result = await measure(start);
    results.get(start.name).push(result);
    console.log(`  run ${run} ${start.name}: healthy after ${result.healthyMs.toFixed(0)} ms, server ${mb(result.server)}, tree ${mb(result.tree)} (${result.processes} process${result.processes === 1 ? "" : "es"})`);
  }
}

console.log("\n| start | first /healthz 200 (median) | idle RSS, server process | idle RSS, whole process tree |");
console.log("|---|---|---|---|");
for (const [name, runs] of results) {
  console.log(`| ${name} | ${median(runs.map((r) => r.healthyMs)).toFixed(0)} ms | ${mb(median(runs.map((r) => r.server)))} | ${mb(median(runs.map((r) => r.tree)))} (${runs[0].processes} process${runs[0].processes === 1 ? "" : "es"}) |`);
}
