/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import type { AppEnv } from "../app-env";
import type { Course } from "../course/course";
import { coursesOf } from "../course/registry";
import { confirmSubscriber, findEnrollment, findSubscriber, type Subscriber } from "../db/subscribers";
import { formatLocal, resumeDueAt } from "../drip/schedule";
import { keyedHash } from "../lib/hash";
import { AppError } from "../lib/errors";
import { signedSubscriberLinks } from "../lib/links";
import { verifyToken, type TokenClaims } from "../lib/tokens";
import { AlreadySubscribedPage, ConfirmedPage, ConfirmPage } from "../pages/confirm";
import { formFields, sentJson, siteInfo, wantsJson } from "./helpers";
import { markPrivate } from "./subscriber-links";

/**
 * Double opt-in, step two. `GET /confirm?token=…` (the link in the email, opened by people and by
 * mail scanners alike) only shows a page with a Confirm button; `POST /confirm` with the token (form
 * field `token`, or JSON `{ "token": … }`) confirms and starts the course. Links sent before the
 * button existed are the same URL, so they keep working.
 */

const invalidLink = () =>
  new AppError(
    400,
    "invalid_confirmation",
    "This confirmation link is invalid or has expired. Please sign up again on the home page to get a fresh one.",
  );

type Checked =
  | { kind: "pending" | "active"; claims: TokenClaims; subscriber: Subscriber; course: Course; enrolled: boolean }
  | { kind: "expired-but-active" };

/**
 * What a confirmation token stands for now. A genuine link that has expired, for someone who is
 * subscribed under that link's nonce, is "already subscribed" rather than "invalid". Throws the
 * friendly 400 for anything else (tampered, wrong purpose, superseded, unsubscribed, gone).
 */
async function check(c: Context<AppEnv>, token: string): Promise<Checked> {
  const { db, clock, config } = c.get("deps");
  const claims = await verifyToken(config.appSecret, token, "confirm", clock(), { allowExpired: true });
  if (!claims) throw invalidLink();
  // A link without a course was sent before there were several: it means the default course.
  const registry = coursesOf(c.get("deps"));
  const course = claims.course === undefined ? registry.defaultCourse : registry.courseBySlug(claims.course);
  if (!course) throw invalidLink();
  const subscriber = await findSubscriber(db, claims.subscriberId);
  const sameLink = subscriber !== undefined && (claims.nonce ?? 0) === subscriber.confirmationNonce;
  if (!sameLink || (subscriber.status !== "pending" && subscriber.status !== "active")) throw invalidLink();
  if (claims.expired) {
    if (subscriber.status === "active") return { kind: "expired-but-active" };
    throw invalidLink();
  }
  // An active subscriber's link for a course they are not in yet joins it; one for a course they
  // are in has nothing left to confirm.
  const enrolled = subscriber.status === "active" && (await findEnrollment(db, subscriber.id, course.slug)) !== undefined;
  return { kind: subscriber.status, claims, subscriber, course, enrolled };
}

/** The token a POST carries: form field or JSON `token`, else the link's own `?token=`. */
async function postedToken(c: Context<AppEnv>): Promise<string> {
  let body: unknown = {};
  if (sentJson(c)) body = await c.req.json().catch(() => ({}));
  else body = (await formFields(c)) ?? {};
  const fromBody = typeof body === "object" && body !== null ? (body as Record<string, unknown>).token : undefined;
  if (typeof fromBody === "string" && fromBody !== "") return fromBody;
  return c.req.query("token") ?? "";
}

export const confirmRoutes = new Hono<AppEnv>()
  .get("/confirm", async (c) => {
    // The token is in the URL: keep the page out of caches and indexes, and out of Referer headers.
    markPrivate(c);
    c.header("Referrer-Policy", "no-referrer");
    const token = c.req.query("token") ?? "";
    const checked = await check(c, token);
    const site = siteInfo(c.get("deps").config);
    // Already subscribed (this link or another one was used): nothing to confirm, and the details a
    // second, unused link carries are not theirs to show.
    if (checked.kind === "expired-but-active" || (checked.kind === "active" && checked.enrolled)) {
      return wantsJson(c) ? c.json({ status: "active" }) : c.html(<AlreadySubscribedPage site={site} />);
    }
    if (wantsJson(c)) return c.json({ status: checked.kind, confirm: "POST /confirm with this token" });
    // Someone already subscribed keeps their own name: a link's details count only for a pending signup.
    const details = checked.kind === "pending" ? checked.claims.details : undefined;
    const firstName = details ? details.firstName : checked.subscriber.firstName;
    return c.html(<ConfirmPage site={site} token={token} firstName={firstName} course={checked.course} />);
  })
  .post("/confirm", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    markPrivate(c);
    const now = clock();
    const checked = await check(c, await postedToken(c));
    if (checked.kind === "expired-but-active") {
      return wantsJson(c) ? c.json({ status: "active" }) : c.html(<AlreadySubscribedPage site={siteInfo(config)} />);
    }
    const { claims, subscriber, course } = checked;
    // Details signed into the link win; links issued before they were signed in use the stored ones.
    const timeZone = (subscriber.status === "pending" ? claims.details?.timeZone : undefined) ?? subscriber.timeZone;
    const outcome = await confirmSubscriber(
      db,
      subscriber.id,
      claims.nonce,
      await keyedHash(config.appSecret, subscriber.email),
      now,
      (lastSentAt) => resumeDueAt(now, lastSentAt, timeZone, subscriber.sendHour ?? config.sendHour),
      subscriber.status === "pending" ? claims.details : undefined,
      course,
    );
    if (outcome === "invalid") throw invalidLink();
    if (outcome === "confirmed") {
      logger.info("subscriber_confirmed", { subscriberId: subscriber.id, course: course.slug });
      c.get("deps").onConfirmed?.();
    }

    if (wantsJson(c)) return c.json({ status: "active" });
    const { manageUrl } = await signedSubscriberLinks(config.appUrl, config.appSecret, subscriber.id);
    const next = await findEnrollment(db, subscriber.id, course.slug);
    // Told in the zone that was stored: a second link's details do not apply to someone already in.
    const storedZone = (await findSubscriber(db, subscriber.id))?.timeZone ?? timeZone;
    const lesson = next?.nextLesson ?? 1;
    // Lesson 1 goes out at once; a returning subscriber continues at their next local send hour.
    const when =
      !next?.nextSendAt || next.nextSendAt <= now + 60_000
        ? `Lesson ${lesson} is on its way to your inbox now.`
        : `Lesson ${lesson} arrives on ${formatLocal(next.nextSendAt, storedZone)}.`;
    return c.html(<ConfirmedPage site={siteInfo(config)} when={when} manageUrl={manageUrl} />);
  });
