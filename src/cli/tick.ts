import { parseArgs } from "node:util";
import { listDue } from "../db/drip-queries";
import { runDispatch } from "../drip/dispatch";
import { createLogger } from "../lib/logger";
import { createNodeDeps, loadConfigOrExit } from "../node-deps";

/**
 * `npm run tick`: one dispatcher pass from the command line.
 *   -- --now <ISO-8601>   run as of another instant (simulations, tests)
 *   -- --dry-run          list what is due without sending or changing anything
 */
const USAGE = "Usage: npm run tick -- [--now 2026-03-10T08:00:00Z] [--dry-run]";

function parse() {
  try {
    const { values } = parseArgs({ options: { now: { type: "string" }, "dry-run": { type: "boolean", default: false }, help: { type: "boolean" } } });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const now = values.now === undefined ? undefined : Date.parse(values.now);
    if (now !== undefined && Number.isNaN(now)) throw new Error(`--now must be an ISO-8601 instant, got "${values.now}"`);
    return { now, dryRun: values["dry-run"] };
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    process.exit(2);
  }
}

const args = parse();
const config = loadConfigOrExit(process.env);
const logger = createLogger();
const deps = await createNodeDeps(config, logger);
const clock = args.now === undefined ? Date.now : () => args.now!;

if (args.dryRun) {
  const due = await listDue(deps.db, clock(), Date.now(), 1000);
  console.log(`${due.length} lesson(s) due as of ${new Date(clock()).toISOString()}${due.length === 1000 ? " (first 1000 shown)" : ""}:`);
  for (const item of due) {
    console.log(`  subscriber ${item.subscriberId}  lesson ${item.lessonNumber}  due ${new Date(item.dueAt).toISOString()}  (${item.timeZone})`);
  }
} else {
  // Ctrl-C or SIGTERM mid-pass: stop claiming, record what is with the provider and release the
  // rest, so nobody's lesson waits out a lease. A second signal exits at once.
  const stop = new AbortController();
  const onSignal = () => (stop.signal.aborted ? process.exit(130) : stop.abort());
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const report = await runDispatch({ ...deps, clock }, { signal: stop.signal });
  console.log(
    `Sent ${report.sent}, retried ${report.retried}, failed ${report.failed}, cancelled ${report.cancelled} (claimed ${report.claimed}) in ${report.durationMs} ms; stopped: ${report.stoppedBy}.`,
  );
}
