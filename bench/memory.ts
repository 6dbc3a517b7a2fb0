import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { ChildFigures } from "./pass-child";
import { bundleChild, startNodeFlags } from "./bundle-child";
import { mb, ok, runChild, startFakeResendProcess } from "./support";

/**
 * `npm run bench:memory [-- N [M]]`: peak RSS of one whole dispatcher pass with N due (default
 * 100,000) and with M due (default 3N), each in a fresh process over a database seeded by another
 * process (bench/pass-child.ts), beside a baseline of the same process shape (same modules, same
 * database open) that only posts N pre-rendered emails. Peak RSS is the kernel's high-water mark
 * for the whole process; pass − baseline is what the dispatcher itself holds. Targets: < 250 MB
 * for 100,000 due, and flat as N grows (the larger pass within 10 % of the smaller).
 *
 * Both measured children run as the product runs (`npm start`): bundled by esbuild with the
 * server's settings (no TypeScript loader in the process) and with the node flags of the `start`
 * script. Seeding runs with tsx; it is not measured.
 */
const TARGET_MB = 250;
const FLAT = 1.1;

const first = Number(process.argv[2] ?? 100_000);
const sizes = [first, Number(process.argv[3] ?? 3 * first)];
const child = await bundleChild("bench/pass-child.ts", "bench-memory");
const flags = startNodeFlags();
const fake = await startFakeResendProcess(0);
const dir = mkdtempSync(join(tmpdir(), "bench-memory-"));
try {
  const rows: { n: number; pass: ChildFigures; baseline: ChildFigures }[] = [];
  for (const n of sizes) {
    const file = join(dir, `m${n}.db`);
    const now = Date.now();
    await runChild("bench/pass-child.ts", ["seed", file, String(n), String(now)]);
    // --expose-gc only lets the child collect once at the end, so "heap after" is live memory.
    const baseline = await runChild<ChildFigures>(child, ["baseline", file, String(n), String(now), fake.url], ["--expose-gc", ...flags]);
    const pass = await runChild<ChildFigures>(child, ["pass", file, String(n), String(now), fake.url], ["--expose-gc", ...flags]);
    rows.push({ n, pass, baseline });
    rmSync(file, { force: true });
  }
  console.log(`\nbench:memory  node ${process.version} ${flags.join(" ")}  (peak RSS of a fresh process per row, bundled as \`npm start\` runs; load ${loadavg()[0]!.toFixed(1)})\n`);
  console.log(`${"due".padStart(8)} ${"baseline".padStart(10)} ${"pass".padStart(10)} ${"pass − baseline".padStart(16)} ${"RSS before pass".padStart(16)} ${"live heap after".padStart(16)} ${"pass s".padStart(7)} ${"pass CPU s".padStart(10)}`);
  for (const { n, pass, baseline } of rows) {
    console.log(
      `${String(n).padStart(8)} ${mb(baseline.maxRssMb).padStart(10)} ${mb(pass.maxRssMb).padStart(10)} ${mb(pass.maxRssMb - baseline.maxRssMb).padStart(16)} ${mb(pass.startRssMb).padStart(16)} ${mb(pass.heapUsedMb).padStart(16)} ${pass.seconds.toFixed(1).padStart(7)} ${(pass.cpuMicros / 1e6).toFixed(1).padStart(10)}`,
    );
  }
  const [small, large] = rows as [(typeof rows)[0], (typeof rows)[0]];
  const growth = large.pass.maxRssMb / small.pass.maxRssMb;
  console.log(`\npeak RSS for ${small.n} due: ${mb(small.pass.maxRssMb)} (target < ${TARGET_MB} MB) ${ok(small.pass.maxRssMb < TARGET_MB)}`);
  console.log(`${large.n} / ${small.n} due: peak RSS ${growth.toFixed(2)}× (target flat, ≤ ${FLAT}×) ${ok(growth <= FLAT)}`);
} finally {
  fake.stop();
  rmSync(dir, { recursive: true, force: true });
}
