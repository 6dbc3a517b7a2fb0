/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import type { Course } from "../course/course";
import { coursesOf } from "../course/registry";
import {
  deleteSubscriber,
  findSubscription,
  leaveCourse,
  lessonOnItsWay,
  pauseForWeek,
  pauseUntilResumed,
  restart,
  resume,
  unsubscribe,
  type ControlResult,
  type Refusal,
  type Subscription,
} from "../db/controls";
import { updateDetails } from "../db/details";
import { findEnrollments } from "../db/subscribers";
import { FORM_TOKEN_FIELD, signFormToken, verifyFormToken } from "../lib/form-token";
import { AppError } from "../lib/errors";
import { DeleteConfirmPage, DeletedPage, ManagePage, isDoneKey, type DoneKey } from "../pages/manage";
import type { DetailsFormState } from "../pages/manage-details";
import { parseDetails } from "./manage-details";
import { formFields, fromAnotherSite, siteInfo } from "./helpers";
import { brokenLink, markPrivate, subscriberIdFrom } from "./subscriber-links";

/**
 * The manage page behind the footer link of every lesson: progress, and one POST form per action.
 * Each POST redirects (303) back to the page with `?done=<what>`, so a reload never repeats it.
 */

const REFUSALS: Record<Exclude<Refusal, "not_found">, string> = {
  not_subscribed:
    "You're not subscribed right now, so there are no lessons to pause, resume or restart. To get the course again, sign up on the home page.",
  not_confirmed: "Your lessons are waiting for you to confirm your address. Please use the link in the email we sent you.",
  completed: "Your course is complete, so there is nothing to pause or resume. You can restart it from lesson 1 on the manage page.",
};

function check(result: ControlResult) {
  if (result.ok) return;
  if (result.reason === "not_found") throw brokenLink();
  throw new AppError(409, result.reason, REFUSALS[result.reason]);
}

/** The controls the page's main form and its per-course forms share. */
const ENROLLMENT_CONTROLS = { pause: pauseUntilResumed, resume, restart } as const;

const ACTIONS = ["pause-week", "pause", "resume", "restart", "unsubscribe"] as const;
type Action = (typeof ACTIONS)[number];
const isAction = (value: string): value is Action => (ACTIONS as readonly string[]).includes(value);

/** What each course's own controls on the manage page can do. */
const COURSE_ACTIONS = ["pause", "resume", "restart", "leave"] as const;
const isCourseAction = (value: string): value is (typeof COURSE_ACTIONS)[number] => (COURSE_ACTIONS as readonly string[]).includes(value);

const DONE: Record<Action, DoneKey> = {
  "pause-week": "paused-week",
  pause: "paused",
  resume: "resumed",
  restart: "restarted",
  unsubscribe: "unsubscribed",
};

/** The origin our pages are served from (APP_URL may carry a path; Origin never does). */
const refusedForm = () =>
  new AppError(
    403,
    "form_expired",
    "This form has expired or didn't come from your manage page, so nothing was changed. Please go back, reload the page and try again.",
  );

/**
 * The subscriber a manage POST acts for, once it has passed the CSRF checks, with the form body.
 * The signed form token (src/lib/form-token.ts) is required and is the defence that always applies;
 * `Origin` and `Sec-Fetch-Site` refuse a cross-site POST early when a browser sends them, but
 * `Origin: null` (what Chromium sends from a `no-referrer` page) is not held against a valid token.
 */
async function formPost(c: Context<AppEnv>): Promise<{ subscriberId: string; body: Record<string, unknown> }> {
  const { config, clock } = c.get("deps");
  if (fromAnotherSite(c)) throw refusedForm();
  const subscriberId = await subscriberIdFrom(c, c.req.param("token"), "manage");
  const body = (await formFields(c)) ?? {};
  if (!(await verifyFormToken(config.appSecret, body[FORM_TOKEN_FIELD], subscriberId, "manage", clock()))) throw refusedForm();
  return { subscriberId, body };
}

/**
 * The subscriber's courses: the main one (the default course if they are in it, else the first
 * they joined) and the others, each with its enrollment. Enrollments of courses this service no
 * longer runs are left out.
 */
async function coursesOfSubscriber(c: Context<AppEnv>, subscription: Subscription) {
  const registry = coursesOf(c.get("deps"));
  const all = (await findEnrollments(c.get("deps").db, subscription.subscriber.id)).flatMap((enrollment) => {
    const course = registry.courseBySlug(enrollment.course);
    return course ? [{ course, enrollment }] : [];
  });
  const main = all.find((e) => e.course.slug === registry.defaultCourse.slug) ?? all[0];
  const course: Course = main?.course ?? registry.defaultCourse;
  return { course, main: { ...subscription, enrollment: main?.enrollment }, others: all.filter((e) => e !== main) };
}

/** The manage page for `subscription`, with a fresh form token and the details form's state. */
async function managePage(c: Context<AppEnv>, subscription: Subscription, details?: DetailsFormState, done?: DoneKey) {
  const { clock, config } = c.get("deps");
  const now = clock();
  const { subscriber } = subscription;
  markPrivate(c);
  const { course, main, others } = await coursesOfSubscriber(c, subscription);
  return (
    <ManagePage
      site={siteInfo(config)}
      subscription={main}
      course={course}
      others={others}
      base={`/manage/${encodeURIComponent(c.req.param("token") ?? "")}`}
      now={now}
      done={done}
      formToken={await signFormToken(config.appSecret, subscriber.id, "manage", now)}
      details={details ?? { firstName: subscriber.firstName ?? "", timeZone: subscriber.timeZone, sendHour: subscriber.sendHour ?? config.sendHour }}
      onItsWay={await lessonOnItsWay(c.get("deps").db, main)}
    />
  );
}

export const manageRoutes = new Hono<AppEnv>()
  .get("/manage/:token", async (c) => {
    const { db } = c.get("deps");
    const subscription = await findSubscription(db, await subscriberIdFrom(c, c.req.param("token"), "manage"));
    if (!subscription) throw brokenLink();
    const done = c.req.query("done");
    return c.html(await managePage(c, subscription, undefined, isDoneKey(done) ? done : undefined));
  })
  .get("/manage/:token/delete", async (c) => {
    const { db, config, clock } = c.get("deps");
    const token = c.req.param("token");
    const subscriberId = await subscriberIdFrom(c, token, "manage");
    if (!(await findSubscription(db, subscriberId))) throw brokenLink();
    markPrivate(c);
    const formToken = await signFormToken(config.appSecret, subscriberId, "manage", clock());
    return c.html(<DeleteConfirmPage site={siteInfo(config)} base={`/manage/${encodeURIComponent(token)}`} formToken={formToken} />);
  })
  .post("/manage/:token/delete", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    const { subscriberId } = await formPost(c);
    if (!(await deleteSubscriber(db, subscriberId, clock(), config.appSecret))) throw brokenLink();
    logger.info("subscriber_deleted", { subscriberId });
    await c.get("deps").afterErase?.();
    return c.redirect("/deleted", 303);
  })
  .post("/manage/:token/details", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    const { subscriberId, body } = await formPost(c);
    const subscription = await findSubscription(db, subscriberId);
    if (!subscription) throw brokenLink();
    const current = subscription.subscriber.sendHour ?? config.sendHour;
    const parsed = parseDetails(body, current);
    if (!parsed.ok) return c.html(await managePage(c, subscription, parsed.state), 400);
    if (!(await updateDetails(db, subscriberId, parsed.details, clock())).ok) throw brokenLink();
    logger.info("subscriber_details_changed", { subscriberId });
    return c.redirect(`/manage/${encodeURIComponent(c.req.param("token"))}?done=details`, 303);
  })
  .post("/manage/:token/courses/:slug/:action", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    const action = c.req.param("action");
    const course = coursesOf(c.get("deps")).courseBySlug(c.req.param("slug"));
    if (!course || !isCourseAction(action)) throw new AppError(404, "not_found", "We couldn't find that page.");
    const { subscriberId } = await formPost(c);
    const now = clock();
    // The subscriber's own hour, else the course's, else the configured one: the lifecycle step applies it.
    const schedule = { now, sendHour: config.sendHour, course };
    if (action === "leave") {
      if ((await leaveCourse(db, subscriberId, course, now)).outcome === "not_found") throw brokenLink();
    } else {
      check(await ENROLLMENT_CONTROLS[action](db, subscriberId, schedule));
    }
    logger.info("subscriber_control", { subscriberId, action, course: course.slug });
    const done = action === "leave" ? "left" : DONE[action];
    return c.redirect(`/manage/${encodeURIComponent(c.req.param("token"))}?done=${done}`, 303);
  })
  .post("/manage/:token/:action", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    const token = c.req.param("token");
    const action = c.req.param("action");
    if (!isAction(action)) throw new AppError(404, "not_found", "We couldn't find that page.");
    const { subscriberId } = await formPost(c);
    const now = clock();
    // The page's main course (the default one, or the first a subscriber outside it joined).
    const subscription = await findSubscription(db, subscriberId);
    const course = subscription ? (await coursesOfSubscriber(c, subscription)).course : undefined;
    // The subscriber's own hour, else the course's, else the configured one: the lifecycle step applies it.
    const schedule = { now, sendHour: config.sendHour, course };

    if (action === "unsubscribe") {
      if ((await unsubscribe(db, subscriberId, now, config.appSecret)) === "not_found") throw brokenLink();
    } else if (action === "pause-week") {
      check(await pauseForWeek(db, subscriberId, schedule));
    } else {
      check(await ENROLLMENT_CONTROLS[action](db, subscriberId, schedule));
    }
    logger.info("subscriber_control", { subscriberId, action });
    return c.redirect(`/manage/${encodeURIComponent(token)}?done=${DONE[action]}`, 303);
  })
  .get("/deleted", (c) => c.html(<DeletedPage site={siteInfo(c.get("deps").config)} />));
