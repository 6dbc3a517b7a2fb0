import type { AppDeps } from "../app-env";
import { coursesOf } from "../course/registry";
import { newId } from "../lib/ids";
import { runDispatch, type DispatchOptions, type DispatchReport } from "./dispatch";

export interface AllCoursesReport extends DispatchReport {
  /** Each course's own pass, by course slug. */
  courses: Record<string, DispatchReport>;
}

const COUNTS = ["claimed", "sent", "retried", "failed", "cancelled", "recovered", "unsendable", "resumed", "held", "calls"] as const;

/**
 * One dispatcher pass over every course (`deps.courses`, default first), one course after the
 * other, sharing one budget: each course gets what the ones before it left (emails, ms, calls).
 * Stops early, without starting the next course, when a course stopped for any reason but
 * "done" (budget spent, provider refusing or rate limiting, shutdown). `options.course` is ignored.
 */
export async function runDispatchAll(deps: AppDeps, options: Omit<DispatchOptions, "course"> = {}): Promise<AllCoursesReport> {
  const wallClock = options.wallClock ?? Date.now;
  const started = wallClock();
  const budget = { ...deps.config.dispatchBudget, ...options.budget };
  const passId = options.passId ?? newId();
  const total: AllCoursesReport = { passId, ...Object.fromEntries(COUNTS.map((k) => [k, 0])), durationMs: 0, stoppedBy: "done", courses: {} } as AllCoursesReport;
  for (const course of coursesOf(deps).allCourses()) {
    const spentMs = wallClock() - started;
    const left = { maxEmails: budget.maxEmails - total.sent, maxMs: budget.maxMs - spentMs, maxSubrequests: budget.maxSubrequests - total.calls };
    if (left.maxEmails <= 0 || left.maxMs <= 0 || left.maxSubrequests <= 0) {
      total.stoppedBy = left.maxEmails <= 0 ? "emails" : left.maxMs <= 0 ? "time" : "subrequests";
      break;
    }
    const report = await runDispatch(deps, { ...options, course, budget: left, passId: `${passId}:${course.slug}` });
    total.courses[course.slug] = report;
    for (const key of COUNTS) total[key] += report[key];
    if (report.stoppedBy !== "done") {
      total.stoppedBy = report.stoppedBy;
      break;
    }
  }
  total.durationMs = wallClock() - started;
  // One line per run (each course's pass also logs its own `dispatch_pass`): what a cron run did.
  const { courses, ...summary } = total;
  deps.logger.info("dispatch_run", { ...summary, courses: Object.keys(courses).length });
  return total;
}
