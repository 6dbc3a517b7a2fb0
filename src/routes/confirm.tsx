/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { confirmSubscriber, findEnrollment, findSubscriber } from "../db/subscribers";
import { formatLocal, resumeDueAt } from "../drip/schedule";
import { keyedHash } from "../lib/hash";
import { AppError } from "../lib/errors";
import { signedSubscriberLinks } from "../lib/links";
import { verifyToken } from "../lib/tokens";
import { MessagePage } from "../pages/layout";
import { siteInfo, wantsJson } from "./helpers";
import { markPrivate } from "./subscriber-links";

const invalidLink = () =>
  new AppError(
    400,
    "invalid_confirmation",
    "This confirmation link is invalid or has expired. Please sign up again on the home page to get a fresh one.",
  );

export const confirmRoutes = new Hono<AppEnv>().get("/confirm", async (c) => {
  const { db, clock, config, logger } = c.get("deps");
  // The token is in the URL and the page links to the manage page: keep both out of caches and indexes.
  markPrivate(c);
  const now = clock();
  const claims = await verifyToken(config.appSecret, c.req.query("token") ?? "", "confirm", now);
  if (!claims) throw invalidLink();

  const subscriber = await findSubscriber(db, claims.subscriberId);
  if (!subscriber) throw invalidLink();
  const outcome = await confirmSubscriber(
    db,
    subscriber.id,
    claims.nonce,
    await keyedHash(config.appSecret, subscriber.email),
    now,
    (lastSentAt) => resumeDueAt(now, lastSentAt, subscriber.timeZone, config.sendHour),
  );
  if (outcome === "invalid") throw invalidLink();
  if (outcome === "confirmed") {
    logger.info("subscriber_confirmed", { subscriberId: subscriber.id });
    c.get("deps").onConfirmed?.();
  }

  if (wantsJson(c)) return c.json({ status: "active" });
  const { manageUrl } = await signedSubscriberLinks(config.appUrl, config.appSecret, subscriber.id);
  const next = await findEnrollment(db, subscriber.id);
  const lesson = next?.nextLesson ?? 1;
  // Lesson 1 goes out at once; a returning subscriber continues at their next local send hour.
  const when =
    !next?.nextSendAt || next.nextSendAt <= now + 60_000
      ? `Lesson ${lesson} is on its way to your inbox now.`
      : `Lesson ${lesson} arrives on ${formatLocal(next.nextSendAt, subscriber.timeZone)}.`;
  return c.html(
    <MessagePage title="You're in!" site={siteInfo(config)}>
      <p class="lead">Your subscription is confirmed. {when}</p>
      <p>The next lessons follow every few days, in the morning your time. Every email has links to pause or leave.</p>
      <p>
        <a class="button secondary" href={manageUrl}>
          Manage your subscription
        </a>
      </p>
    </MessagePage>,
  );
});
