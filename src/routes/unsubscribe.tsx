/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { findSubscription, leaveCourse, unsubscribeWithNotice } from "../db/controls";
import { hasLeft } from "../lifecycle/machine";
import { signFormToken } from "../lib/form-token";
import { UnsubscribedPage, UnsubscribePage } from "../pages/unsubscribe";
import { formFields, siteInfo } from "./helpers";
import { brokenLink, managePath, markPrivate, tokenTarget } from "./subscriber-links";

/**
 * The URL in every lesson's `List-Unsubscribe` header and footer.
 *
 * RFC 8058 (one-click unsubscribe): the mail client POSTs `List-Unsubscribe=One-Click` to this URL,
 * from its own servers, with no cookies and no Origin we could check, and expects a 2xx without a
 * redirect. The signed, purpose-bound token in the path is the only credential, so this POST is
 * deliberately outside the CSRF protection that guards every other state change (our own button's
 * form carries a signed form token like every other form, but this endpoint does not require it). A GET never
 * changes anything (RFC 8058 §1: anti-spam software fetches URLs found in mail on its own); it shows
 * a page whose button POSTs here too.
 *
 * A lesson's link names its course: it leaves that course only; consent and other courses stay.
 * A link without a course (lessons sent before there were several courses) stops all email, as it
 * said it would when it was sent.
 */
export const unsubscribeRoutes = new Hono<AppEnv>()
  .get("/unsubscribe/:token", async (c) => {
    const { db, config, clock } = c.get("deps");
    const { subscriberId, course } = await tokenTarget(c, c.req.param("token"), "unsubscribe");
    const subscription = await findSubscription(db, subscriberId, course?.slug);
    if (!subscription) throw brokenLink();
    markPrivate(c);
    const manageUrl = await managePath(c, subscriberId);
    const leftCourse = course && subscription.enrollment && ["stopped", "completed"].includes(subscription.enrollment.state);
    if (hasLeft(subscription.subscriber.status) || leftCourse) {
      return c.html(<UnsubscribedPage site={siteInfo(config)} manageUrl={manageUrl} already course={leftCourse ? course : undefined} />);
    }
    // The "Pause instead" form posts to the manage page, which wants a signed form token.
    const formToken = await signFormToken(config.appSecret, subscriberId, "manage", clock());
    return c.html(<UnsubscribePage site={siteInfo(config)} action={c.req.path} manageUrl={manageUrl} formToken={formToken} course={course} />);
  })
  .post("/unsubscribe/:token", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    const { subscriberId, course } = await tokenTarget(c, c.req.param("token"), "unsubscribe");
    const { outcome, onItsWay } = course
      ? await leaveCourse(db, subscriberId, course, clock())
      : await unsubscribeWithNotice(db, subscriberId, clock(), config.appSecret);
    if (outcome === "not_found") throw brokenLink();
    if (outcome === "unsubscribed") logger.info(course ? "course_left" : "subscriber_unsubscribed", { subscriberId, ...(course && { course: course.slug }) });

    // Any POST with a valid token unsubscribes (a person pressing our button, or a client that
    // sends the body in another encoding); the body only decides how to answer.
    const body = (await formFields(c)) ?? {};
    markPrivate(c);
    if (body["List-Unsubscribe"] === "One-Click") {
      const note = onItsWay ? " One lesson already on its way may still arrive." : "";
      const what = course ? `You have left ${course.title}. No more of its lessons will be sent; other courses carry on.` : "You have been unsubscribed. No more lessons will be sent to this address.";
      return c.text(`${what}${note}`, 200);
    }
    return c.html(
      <UnsubscribedPage
        site={siteInfo(config)}
        manageUrl={await managePath(c, subscriberId)}
        already={outcome === "already_unsubscribed"}
        onItsWay={onItsWay}
        course={course}
      />,
    );
  });
