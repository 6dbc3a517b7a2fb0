import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { coursesOf, lessonOfSlug } from "../course";
import { findSubscription } from "../db/controls";
import { lessonLinks, personalise } from "../drip/lesson-email";
import { lessonTemplate } from "../mail/emails";
import { verifyToken } from "../lib/tokens";
import { brokenLink, markPrivate } from "./subscriber-links";

/**
 * "View in browser": a lesson as a web page, personalised like the email, for the holder of a
 * signed lesson token. The email's HTML carries inline styles, so this route relaxes the app's
 * policy for styles only: still no scripts, no forms, no framing, images over https only.
 */
const ARCHIVE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * The email's HTML as a web page: the HTML5 doctype (the email's XHTML 1.0 Transitional one puts
 * browsers in limited-quirks mode) and a `main` landmark around the body, so screen readers can
 * jump to the lesson (axe: landmark-one-main, region).
 */
export function asWebPage(emailHtml: string): string {
  return emailHtml
    .replace(/^\s*<!DOCTYPE[^>]*>/i, "<!DOCTYPE html>")
    .replace(/<body\b[^>]*>/i, (body) => `${body}<main>`)
    .replace(/<\/body>/i, "</main></body>");
}

export const lessonRoutes = new Hono<AppEnv>().get("/lessons/:slug", async (c) => {
  const { db, clock, config } = c.get("deps");
  const claims = await verifyToken(config.appSecret, c.req.query("token") ?? "", "lesson", clock());
  const registry = coursesOf(c.get("deps"));
  const course = claims?.course === undefined ? registry.defaultCourse : registry.courseBySlug(claims.course);
  const lesson = course && lessonOfSlug(course, c.req.param("slug"));
  // One answer for an unknown slug, a bad token and a token for another lesson: nothing leaks.
  if (!lesson || !claims || claims.lesson !== lesson.number) throw brokenLink();
  const subscription = await findSubscription(db, claims.subscriberId, course.slug);
  if (!subscription) throw brokenLink();
  const { subscriber } = subscription;
  // A lesson email's token names the run it was sent in; older lesson links name none, and then a
  // vote from the archive counts for the run the reader is in now.
  const run = claims.run ?? subscription.enrollment?.run ?? 1;
  const links = lessonLinks(config, { subscriberId: subscriber.id, run }, lesson, course);
  // The same compiled template as the email (src/mail/templates.generated.ts).
  const { html } = personalise(lessonTemplate(lesson, config, course), { firstName: subscriber.firstName, ...links });
  markPrivate(c);
  c.header("Content-Security-Policy", ARCHIVE_CSP);
  return c.html(asWebPage(html));
});
