import type { AppDeps } from "../app-env";
import type { Course } from "../course/course";
import { coursesOf } from "../course/registry";
import { deleteSubscriber, leaveCourse, pauseUntilResumed, resume, unsubscribeWithNotice } from "../db/controls";
import { adminActions } from "../db/schema";
import type { OperatorSession } from "./sessions";

/**
 * What an operator can do to one subscriber, each through the lifecycle's own functions
 * (src/db/controls.ts), never by writing states here. Outcomes are short codes for the log and page.
 */
export const SUBSCRIBER_ACTIONS = ["pause", "resume", "remove", "unsubscribe", "delete"] as const;
export type SubscriberAction = (typeof SUBSCRIBER_ACTIONS)[number];

export const ACTION_LABELS: Record<SubscriberAction, string> = {
  pause: "Paused",
  resume: "Resumed",
  remove: "Removed from the course",
  unsubscribe: "Unsubscribed",
  delete: "Deleted their data",
};

async function run(deps: AppDeps, action: SubscriberAction, subscriberId: string, now: number, course: Course): Promise<string> {
  const { db, config } = deps;
  const schedule = { now, sendHour: config.sendHour, course };
  switch (action) {
    case "pause":
    case "resume": {
      const result = action === "pause" ? await pauseUntilResumed(db, subscriberId, schedule) : await resume(db, subscriberId, schedule);
      return result.ok ? (result.onItsWay ? "done_lesson_on_its_way" : "done") : result.reason;
    }
    // Leaving one course keeps the person's consent and their other courses.
    case "remove": {
      const { outcome, onItsWay } = await leaveCourse(db, subscriberId, course, now);
      return outcome === "unsubscribed" ? (onItsWay ? "done_lesson_on_its_way" : "done") : outcome;
    }
    case "unsubscribe": {
      const { outcome, onItsWay } = await unsubscribeWithNotice(db, subscriberId, now, config.appSecret);
      return outcome === "unsubscribed" ? (onItsWay ? "done_lesson_on_its_way" : "done") : outcome;
    }
    case "delete": {
      const deleted = await deleteSubscriber(db, subscriberId, now, config.appSecret);
      if (deleted) await deps.afterErase?.();
      return deleted ? "done" : "not_found";
    }
  }
}

/**
 * Runs an operator's action and records it: a row in admin_actions (the operator's address is
 * operators' own data) and a log line with the session's reference (never an address).
 */
export async function runSubscriberAction(
  deps: AppDeps,
  operator: OperatorSession,
  action: SubscriberAction,
  subscriberId: string,
  /** The course pause, resume and remove act on; unsubscribe and delete act on the person. */
  course: Course = coursesOf(deps).defaultCourse,
): Promise<string> {
  const now = deps.clock();
  const outcome = await run(deps, action, subscriberId, now, course);
  const sessionRef = operator.idHash.slice(0, 12);
  await deps.db.insert(adminActions).values({ at: now, operatorEmail: operator.email, sessionRef, action, subscriberId, outcome });
  deps.logger.info("admin_action", { action, subscriberId, outcome, session: sessionRef });
  return outcome;
}

/**
 * Records an operator's action that concerns no subscriber (API keys, webhook endpoints): a row in
 * admin_actions (subscriber_id null) and an `admin_action` log line with `fields` (ids and
 * prefixes only: never a key, a secret or an address).
 */
export async function recordAdminAction(deps: AppDeps, operator: OperatorSession, action: string, outcome: string, fields: Record<string, string>): Promise<void> {
  const sessionRef = operator.idHash.slice(0, 12);
  await deps.db.insert(adminActions).values({ at: deps.clock(), operatorEmail: operator.email, sessionRef, action, subscriberId: null, outcome });
  deps.logger.info("admin_action", { action, outcome, session: sessionRef, ...fields });
}
