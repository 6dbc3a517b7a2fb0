import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { Course } from "../course/course";
import { coursesOf } from "../course/registry";
import { deleteSubscriber, leaveCourse, pauseUntilResumed, resume, unsubscribeWithNotice, type ControlResult as Outcome } from "../db/controls";
import { lessonFunnel } from "../db/reports";
import { findEnrollment, findSubscriberByEmail } from "../db/subscribers";
import { resolveTimeZone } from "../drip/schedule";
import { AppError } from "../lib/errors";
import { deliver } from "../routes/signup";
import { requireApiKey, type ApiEnv } from "./auth";
import { errors, json, security } from "./contract";
import { apiError } from "./errors";
import { withIdempotency } from "./idempotency";
import { decodeEventCursor, decodePosition, encodeCursor, presentDelivery, presentEvent, presentSubscriber } from "./present";
import * as q from "./queries";
import { retryFailed } from "./retry-failed";
import * as s from "./schemas";

/**
 * `/api/v1`, contract first: each route is declared with zod schemas (src/api/schemas.ts), which
 * validate the request and generate the OpenAPI 3.1 document. Every route needs an API key
 * (`requireApiKey`); reads need scope `read`, writes `write`. Errors use the one JSON envelope.
 */


/** Validation failures become 400s in the envelope, naming the field. */
export function createApiApp() {
  return new OpenAPIHono<ApiEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      const issue = result.error.issues[0];
      const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
      throw apiError("bad_request", `${where}${issue?.message ?? "The request is not valid."}`);
    },
  });
}

export const api = createApiApp();
api.use("/api/v1/*", async (c, next) => {
  // The document and its reference page are public; everything else needs a key.
  if (c.req.path === "/api/v1/openapi.json" || c.req.path === "/api/v1/reference") return next();
  return requireApiKey(c, next);
});

/** The registered course `slug` (src/course/registry.ts); 404 in the envelope when there is none. */
function knownCourse(c: ApiContext, slug: string): Course {
  const course = coursesOf(c.get("deps")).courseBySlug(slug);
  if (!course) throw apiError("not_found", `No course "${slug}". GET /api/v1/courses lists them.`);
  return course;
}

async function courseWithStats(db: ApiContext["var"]["deps"]["db"], course: Course): Promise<z.infer<typeof s.Course>> {
  // The same funnel the console shows (src/db/reports.ts).
  const [funnel, states] = await Promise.all([lessonFunnel(db, course), q.stateCounts(db, course)]);
  const lessons = course.lessons.map(({ number, slug, title }, i) => {
    const { sent, delivered, opened, clicked, helpful, notHelpful, comments } = funnel[i]!;
    return { number, slug, title, sent, delivered, opened, clicked, helpful, notHelpful, comments };
  });
  return { slug: course.slug, title: course.title, subscribers: states, lessons };
}

type ApiContext = Context<ApiEnv>;

api.openapi(
  createRoute({ method: "get", path: "/api/v1/courses", tags: ["Courses"], summary: "List courses with per-lesson funnel counts", security, responses: { 200: json(z.object({ data: z.array(s.Course) }), "Courses"), ...errors() } }),
  async (c) => {
    const { db } = c.get("deps");
    return c.json({ data: await Promise.all(coursesOf(c.get("deps")).allCourses().map((course) => courseWithStats(db, course))) }, 200);
  },
);

api.openapi(
  createRoute({ method: "get", path: "/api/v1/courses/{course}", tags: ["Courses"], summary: "Get one course with per-lesson funnel counts", security, request: { params: s.CourseSlugParam }, responses: { 200: json(s.Course, "The course"), ...errors("not_found") } }),
  async (c) => c.json(await courseWithStats(c.get("deps").db, knownCourse(c, c.req.valid("param").course)), 200),
);

api.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/subscribers",
    tags: ["Subscribers"],
    summary: "List subscribers, oldest first",
    security,
    request: { query: s.SubscriberListQuery },
    responses: { 200: json(s.page(s.Subscriber, "SubscriberPage"), "A page of subscribers"), ...errors("bad_request", "invalid_cursor", "not_found") },
  }),
  async (c) => {
    const { course, state, cursor, limit } = c.req.valid("query");
    // `state` is the state in the course asked for, else in the default course.
    const inCourse = course ? knownCourse(c, course) : coursesOf(c.get("deps")).defaultCourse;
    const rows = await q.listSubscribers(c.get("deps").db, { course: inCourse, filtered: course !== undefined, state, after: decodePosition(cursor), limit: limit + 1 });
    const data = rows.slice(0, limit);
    const last = data.at(-1)?.subscriber;
    return c.json({ data: data.map(presentSubscriber), nextCursor: rows.length > limit && last ? encodeCursor([last.createdAt, last.id]) : null }, 200);
  },
);

/** The subscriber, `state` being their state in `course` (default: the default course). */
async function subscriberOr404(c: ApiContext, id: string, course: Course = coursesOf(c.get("deps")).defaultCourse): Promise<q.SubscriberWithEnrollments> {
  const found = await q.getSubscriber(c.get("deps").db, id, course);
  if (!found) throw apiError("not_found", "No subscriber with that id.");
  return found;
}

api.openapi(
  createRoute({ method: "get", path: "/api/v1/subscribers/{id}", tags: ["Subscribers"], summary: "Get a subscriber", security, request: { params: s.IdParam }, responses: { 200: json(s.Subscriber, "The subscriber"), ...errors("not_found") } }),
  async (c) => c.json(presentSubscriber(await subscriberOr404(c, c.req.valid("param").id)), 200),
);

api.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/subscribers/{id}/deliveries",
    tags: ["Subscribers"],
    summary: "A subscriber's lesson deliveries, newest first",
    security,
    request: { params: s.IdParam },
    responses: { 200: json(z.object({ data: z.array(s.Delivery) }), "Deliveries"), ...errors("not_found") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    await subscriberOr404(c, id);
    return c.json({ data: (await q.subscriberDeliveries(c.get("deps").db, id)).map(presentDelivery) }, 200);
  },
);

async function eventPage(c: ApiContext, filter: { subscriberId?: string; course?: string; type?: string; cursor?: string; limit: number }) {
  const rows = await q.listEvents(c.get("deps").db, {
    subscriberId: filter.subscriberId,
    course: filter.course,
    types: filter.type ? [filter.type] : undefined,
    afterId: decodeEventCursor(filter.cursor),
    limit: filter.limit,
  });
  // Events keep coming: the cursor of the last event read is always returned, so a client can poll.
  const last = rows.at(-1)?.id ?? decodeEventCursor(filter.cursor);
  return { data: rows.map(presentEvent), nextCursor: last === undefined ? null : encodeCursor(last) };
}

api.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/subscribers/{id}/events",
    tags: ["Events"],
    summary: "A subscriber's events, oldest first",
    security,
    request: { params: s.IdParam, query: s.EventListQuery },
    responses: { 200: json(s.page(s.Event, "EventPage"), "Events"), ...errors("bad_request", "invalid_cursor", "not_found") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    // A deleted subscriber's events stay listable (they hold no personal data), so no 404 here.
    return c.json(await eventPage(c, { subscriberId: id, ...c.req.valid("query") }), 200);
  },
);

api.openapi(
  createRoute({
    method: "get",
    path: "/api/v1/events",
    tags: ["Events"],
    summary: "All events, oldest first; poll with the last nextCursor",
    security,
    request: { query: s.EventListQuery },
    responses: { 200: json(s.page(s.Event, "EventPage"), "Events"), ...errors("bad_request", "invalid_cursor") },
  }),
  async (c) => c.json(await eventPage(c, c.req.valid("query")), 200),
);

api.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/courses/{course}/enrollments",
    tags: ["Subscribers"],
    summary: "Enroll an address: it gets the confirmation email, exactly as from the signup form",
    description: "Nothing is sent until the person confirms. An address already subscribed gets its manage link instead.",
    security,
    request: { params: s.CourseSlugParam, headers: s.IdempotencyHeader, body: { required: true, content: { "application/json": { schema: s.EnrollBody } } } },
    responses: { 202: json(s.EnrollResult, "The confirmation email was sent"), ...errors("bad_request", "not_found", "idempotency_conflict", "refused", "mail_unavailable") },
  }),
  async (c) => {
    const course = knownCourse(c, c.req.valid("param").course);
    const body = c.req.valid("json");
    const { db, clock } = c.get("deps");
    const result = await withIdempotency(
      db,
      { apiKeyId: c.get("apiKey").id, key: c.req.valid("header")["idempotency-key"], request: `POST ${c.req.path} ${JSON.stringify(body)}`, now: clock() },
      () => enroll(c, body, course),
    );
    return c.json(result.body as z.infer<typeof s.EnrollResult>, 202);
  },
);

/** The signup path's own `deliver`, with its errors mapped onto the API's codes. */
async function enroll(c: ApiContext, body: z.infer<typeof s.EnrollBody>, course: Course) {
  const { db, clock } = c.get("deps");
  const before = await findSubscriberByEmail(db, body.email);
  // Already in this course: the signup path mails the manage link; in another course only: a join link.
  const already = before?.status === "active" && (await findEnrollment(db, before.id, course.slug)) !== undefined;
  const details = { firstName: body.firstName ?? null, timeZone: resolveTimeZone(body.timeZone) };
  try {
    await deliver(c as unknown as Parameters<typeof deliver>[0], body.email, details, clock(), async (_code, fieldErrors) => {
      throw apiError("refused", fieldErrors.email ?? fieldErrors.form ?? "The address was refused.");
    }, course);
  } catch (error) {
    if (error instanceof AppError && error.status === 429) throw apiError("rate_limited", error.message, error.headers);
    if (error instanceof AppError && error.status === 503) throw apiError("mail_unavailable", error.message, error.headers);
    if (error instanceof AppError && error.status === 409) throw apiError("conflict", error.message);
    throw error;
  }
  const after = await findSubscriberByEmail(db, body.email);
  return {
    status: 202,
    body: {
      subscriberId: after?.id ?? "",
      status: already ? ("already_subscribed" as const) : ("confirmation_sent" as const),
      message: already ? "Already subscribed: we emailed them their manage link." : "We sent a confirmation email; nothing else is sent until they confirm.",
    },
  };
}

const CONTROL_REFUSED: Record<string, string> = {
  not_subscribed: "They are not subscribed (unsubscribed, bounced or complained).",
  not_confirmed: "They have not confirmed yet.",
  completed: "They have completed the course.",
};

/** The answer to a control: the subscriber afterwards (their `state` in `course`), or the refusal. */
async function controlAnswer(c: ApiContext, id: string, outcome: Outcome, course?: Course) {
  if (!outcome.ok) {
    if (outcome.reason === "not_found") throw apiError("not_found", "No subscriber with that id.");
    throw apiError("conflict", CONTROL_REFUSED[outcome.reason] ?? "That change does not apply now.");
  }
  return c.json({ subscriber: presentSubscriber(await subscriberOr404(c, id, course)), lessonOnItsWay: outcome.onItsWay }, 200);
}

/** A subscriber in a known course; 404 when they are not enrolled in it. */
async function enrolled(c: ApiContext, id: string, slug: string): Promise<Course> {
  const course = knownCourse(c, slug);
  const found = await subscriberOr404(c, id, course);
  if (!found.enrollments.some((e) => e.courseSlug === slug)) throw apiError("not_found", `That subscriber is not enrolled in "${slug}".`);
  return course;
}

const controlRoute = (path: string, summary: string, method: "post" | "delete" = "post") =>
  createRoute({
    method,
    path,
    tags: ["Subscribers"],
    summary,
    security,
    request: { params: s.SubscriberCourseParams },
    responses: { 200: json(s.ControlResult, "The subscriber after the change"), ...errors("not_found", "conflict") },
  });

api.openapi(controlRoute("/api/v1/subscribers/{id}/courses/{course}/pause", "Pause a course until resumed"), async (c) => {
  const { id, course: slug } = c.req.valid("param");
  const course = await enrolled(c, id, slug);
  const { db, clock, config } = c.get("deps");
  return controlAnswer(c, id, await pauseUntilResumed(db, id, { now: clock(), sendHour: config.sendHour, course }), course);
});

api.openapi(controlRoute("/api/v1/subscribers/{id}/courses/{course}/resume", "Resume a paused (or failed) course at the next send hour"), async (c) => {
  const { id, course: slug } = c.req.valid("param");
  const course = await enrolled(c, id, slug);
  const { db, clock, config } = c.get("deps");
  return controlAnswer(c, id, await resume(db, id, { now: clock(), sendHour: config.sendHour, course }), course);
});

// Leaves that course only (as a lesson's one-click unsubscribe does): consent and other courses stay.
// Stopping all mail is POST /api/v1/subscribers/{id}/unsubscribe.
api.openapi(controlRoute("/api/v1/subscribers/{id}/courses/{course}", "Remove a subscriber from a course (other courses carry on)", "delete"), async (c) => {
  const { id, course: slug } = c.req.valid("param");
  const course = await enrolled(c, id, slug);
  const { db, clock } = c.get("deps");
  const { outcome, onItsWay } = await leaveCourse(db, id, course, clock());
  return controlAnswer(c, id, outcome === "not_found" ? { ok: false, reason: "not_found" } : { ok: true, onItsWay }, course);
});

api.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/subscribers/{id}/unsubscribe",
    tags: ["Subscribers"],
    summary: "Unsubscribe from all email",
    security,
    request: { params: s.IdParam },
    responses: { 200: json(s.ControlResult, "The subscriber after the change"), ...errors("not_found") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { db, clock, config } = c.get("deps");
    const { outcome, onItsWay } = await unsubscribeWithNotice(db, id, clock(), config.appSecret);
    return controlAnswer(c, id, outcome === "not_found" ? { ok: false, reason: "not_found" } : { ok: true, onItsWay });
  },
);

api.openapi(
  createRoute({
    method: "delete",
    path: "/api/v1/subscribers/{id}",
    tags: ["Subscribers"],
    summary: "Delete a subscriber's data",
    description: "Erases the person; only a keyed hash of the address stays on the suppression list.",
    security,
    request: { params: s.IdParam },
    responses: { 204: { description: "Deleted" }, ...errors("not_found") },
  }),
  async (c) => {
    const { id } = c.req.valid("param");
    const { db, clock, config, afterErase } = c.get("deps");
    if (!(await deleteSubscriber(db, id, clock(), config.appSecret))) throw apiError("not_found", "No subscriber with that id.");
    await afterErase?.();
    return c.body(null, 204);
  },
);

api.openapi(
  createRoute({ method: "get", path: "/api/v1/stats", tags: ["Operations"], summary: "Counts by state, and lessons due now", security, responses: { 200: json(s.Stats, "Counts"), ...errors() } }),
  async (c) => c.json(await q.serviceStats(c.get("deps").db, c.get("deps").clock()), 200),
);

api.openapi(
  createRoute({
    method: "post",
    path: "/api/v1/deliveries/retry-failed",
    tags: ["Operations"],
    summary: "Give every failed enrollment of an active subscriber a new set of attempts",
    security,
    responses: { 200: json(z.object({ retried: z.number().int() }), "How many enrollments were revived"), ...errors() },
  }),
  async (c) => {
    const { db, clock, logger } = c.get("deps");
    const retried = await retryFailed(db, clock());
    logger.info("api_retry_failed", { enrollments: retried, apiKeyId: c.get("apiKey").id });
    return c.json({ retried }, 200);
  },
);
