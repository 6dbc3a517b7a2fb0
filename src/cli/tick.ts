import { parseArgs } from "node:util";
import { listDue } from "../db/drip-queries";
import { coursesOf } from "../course/registry";
import { runDispatch } from "../drip/dispatch";
import { runDispatchAll } from "../drip/dispatch-all";
import { createLogger } from "../lib/logger";
import { createNodeDeps, loadConfigOrExit } from "../node-deps";

/**
 * `npm run tick`: one dispatcher pass from the command line.
 *   -- --now <ISO-8601>   run as of another instant (simulations, tests)
 *   -- --dry-run          list what is due without sending or changing anything
 *   -- --course <slug>    only this course (default: every course, the default course first)
 */
const USAGE = "Usage: npm run tick -- [--now 2026-03-10T08:00:00Z] [--dry-run] [--course clear-skin]";

function parse() {
  try {
    const { values } = parseArgs({ options: { now: { type: "string" }, "dry-run": { type: "boolean", default: false }, course: { type: "string" }, help: { type: "boolean" } } });
    if (values.help) {
      console.log(USAGE);
      process.exit(0);
    }
    const now = values.now === undefined ? undefined : Date.parse(values.now);
    if (now !== undefined && Number.isNaN(now)) throw new Error(`--now must be an ISO-8601 instant, got "${values.now}"`);
    const course = values.course === undefined ? undefined : coursesOf({}).courseBySlug(values.course);
    if (values.course !== undefined && !course) {
      throw new Error(`--course: no course "${values.course}"; courses: ${coursesOf({}).allCourses().map((c) => c.slug).join(", ")}`);
    }
    return { now, dryRun: values["dry-run"], course };
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

const courses = args.course ? [args.course] : coursesOf(deps).allCourses();
if (args.dryRun) {
  for (const course of courses) {
    const due = await listDue(deps.db, clock(), Date.now(), 1000, course.slug);
    console.log(`${course.slug}: ${due.length} lesson(s) due as of ${new Date(clock()).toISOString()}${due.length === 1000 ? " (first 1000 shown)" : ""}${due.length > 0 ? ":" : ""}`);
    for (const item of due) {
      console.log(`  subscriber ${item.subscriberId}  lesson ${item.lessonNumber}  due ${new Date(item.dueAt).toISOString()}  (${item.timeZone})`);
    }
  }
} else {
  // Ctrl-C or SIGTERM mid-pass: stop claiming, record what is with the provider and release the
  // rest, so nobody's lesson waits out a lease. A second signal exits at once.
  const stop = new AbortController();
  const onSignal = () => (stop.signal.aborted ? process.exit(130) : stop.abort());
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const report = args.course
    ? await runDispatch({ ...deps, clock }, { signal: stop.signal, course: args.course })
    : await runDispatchAll({ ...deps, clock }, { signal: stop.signal });
  console.log(
    `Sent ${report.sent}, retried ${report.retried}, failed ${report.failed}, cancelled ${report.cancelled} (claimed ${report.claimed}) in ${report.durationMs} ms; stopped: ${report.stoppedBy}.`,
  );
}
