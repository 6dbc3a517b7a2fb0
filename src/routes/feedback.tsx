/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { z } from "zod";
import type { AppEnv } from "../app-env";
import { coursesOf, lessonOf, type Lesson } from "../course";
import { findVote, MAX_COMMENT_LENGTH, recordVote } from "../db/feedback";
import type { LessonVoteValue } from "../db/schema";
import { findSubscriber } from "../db/subscribers";
import { AppError } from "../lib/errors";
import { FEEDBACK_CHOICES, feedbackUrl, type FeedbackChoice } from "../lib/links";
import { verifyToken } from "../lib/tokens";
import { FEEDBACK_JS } from "../pages/assets";
import { FeedbackPage } from "../pages/feedback";
import { formFields, fromAnotherSite, sentJson, siteInfo, wantsJson } from "./helpers";
import { brokenLink, markPrivate } from "./subscriber-links";

/**
 * "Was this lesson helpful?" (the links under every lesson). GET /feedback/:token/:choice shows a
 * thank-you page and records nothing, so a link scanner's fetch never counts as a vote; the page's
 * script (or its button, without scripts) POSTs /feedback, which records one vote per subscriber,
 * course, run and lesson, replacing an earlier one.
 *
 * CSRF: the POST carries the signed feedback token in its body, and that token is the proof: a
 * cross-site page cannot read it, and whoever holds it may vote anyway by opening the link. A
 * foreign `Origin` or `Sec-Fetch-Site: cross-site` is refused early; `Origin: null` (what Chromium
 * sends from a `no-referrer` page, which this one is) is accepted, as on the manage pages.
 */

const VOTE: Record<FeedbackChoice, LessonVoteValue> = { helpful: "helpful", "not-helpful": "not_helpful" };
const isChoice = (value: string): value is FeedbackChoice => (FEEDBACK_CHOICES as readonly string[]).includes(value);

interface FeedbackTarget {
  subscriberId: string;
  courseSlug: string;
  run: number;
  lesson: Lesson;
}

/** What a feedback token names; a broken-link 404 for anything else (another purpose, tampered, unknown lesson). */
async function targetOf(c: Context<AppEnv>, token: string): Promise<FeedbackTarget> {
  const { config, clock } = c.get("deps");
  const claims = await verifyToken(config.appSecret, token, "feedback", clock());
  // Feedback tokens always name their course (lesson-email tokens, src/lib/link-token.ts, and the older JWTs); the lesson is that course's.
  const course = claims?.course === undefined ? undefined : coursesOf(c.get("deps")).courseBySlug(claims.course);
  const lesson = course && claims?.lesson !== undefined ? lessonOf(course, claims.lesson) : undefined;
  if (!claims || !course || !lesson || claims.run === undefined || claims.run < 1) throw brokenLink();
  return { subscriberId: claims.subscriberId, courseSlug: course.slug, run: claims.run, lesson };
}

const postSchema = z.strictObject({
  token: z.string().min(1).max(2048),
  vote: z.enum(FEEDBACK_CHOICES),
  // Browsers send a textarea's line breaks as CRLF, while `maxlength` counts each as one character.
  comment: z
    .string()
    .transform((value) => value.replace(/\r\n?/g, "\n"))
    .pipe(z.string().max(MAX_COMMENT_LENGTH))
    .optional(),
});

const badForm = (message: string) => new AppError(400, "invalid_feedback", message);

const refusedOrigin = () =>
  new AppError(403, "cross_site_request", "This form didn't come from our feedback page, so nothing was saved. Please use the link in your lesson email.");

/** The POST body, once it has passed the origin checks and the schema; 4xx otherwise. */
async function readVote(c: Context<AppEnv>): Promise<z.infer<typeof postSchema>> {
  if (fromAnotherSite(c)) throw refusedOrigin();
  const body = sentJson(c) ? null : await formFields(c);
  if (!body) throw badForm("Send the feedback form as a form (application/x-www-form-urlencoded or multipart/form-data).");
  const parsed = postSchema.safeParse(body);
  if (!parsed.success) {
    const tooLong = parsed.error.issues.some((issue) => issue.path[0] === "comment" && issue.code === "too_big");
    throw badForm(
      tooLong
        ? `Your comment is longer than ${MAX_COMMENT_LENGTH.toLocaleString("en")} characters. Please shorten it and send it again.`
        : "This feedback form is incomplete or has fields we don't know, so nothing was saved. Please use the link in your lesson email.",
    );
  }
  return parsed.data;
}

export const feedbackRoutes = new Hono<AppEnv>()
  .get("/assets/feedback.js", (c) =>
    c.body(FEEDBACK_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=86400" }),
  )
  .get("/feedback/:token/:choice", async (c) => {
    const { db, config } = c.get("deps");
    const choice = c.req.param("choice");
    if (!isChoice(choice)) throw brokenLink();
    const token = c.req.param("token");
    const target = await targetOf(c, token);
    const key = { subscriberId: target.subscriberId, courseSlug: target.courseSlug, run: target.run, lessonNumber: target.lesson.number };
    // A deleted subscriber's link stops working, like every other link of theirs.
    if (!(await findSubscriber(db, target.subscriberId))) throw brokenLink();
    const stored = await findVote(db, key);
    const saved = c.req.query("saved");
    markPrivate(c);
    return c.html(
      <FeedbackPage
        site={siteInfo(config)}
        token={token}
        choice={choice}
        lessonTitle={target.lesson.title}
        stored={stored}
        saved={saved === "vote" || saved === "comment" ? saved : undefined}
      />,
    );
  })
  .post("/feedback", async (c) => {
    const { db, clock, logger } = c.get("deps");
    const form = await readVote(c);
    const target = await targetOf(c, form.token);
    const vote = VOTE[form.vote];
    const input = { subscriberId: target.subscriberId, courseSlug: target.courseSlug, run: target.run, lessonNumber: target.lesson.number, vote, comment: form.comment };
    const stored = await recordVote(db, input, clock());
    if (!stored) throw brokenLink();
    if (stored.changed) {
      logger.info("lesson_rated", { subscriberId: target.subscriberId, course: target.courseSlug, run: target.run, lesson: target.lesson.number, vote });
    }
    markPrivate(c);
    if (wantsJson(c)) return c.json({ vote: stored.vote, hasComment: stored.comment !== null, changed: stored.changed });
    const saved = form.comment === undefined ? "vote" : "comment";
    return c.redirect(`${feedbackUrl("", form.token, form.vote)}?saved=${saved}`, 303);
  });
