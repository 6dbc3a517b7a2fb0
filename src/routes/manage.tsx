/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { csrf } from "hono/csrf";
import type { AppEnv } from "../app-env";
import {
  deleteSubscriber,
  findSubscription,
  pauseForWeek,
  pauseUntilResumed,
  restart,
  resume,
  unsubscribe,
  type ControlResult,
  type Refusal,
} from "../db/controls";
import { AppError } from "../lib/errors";
import { DeleteConfirmPage, DeletedPage, ManagePage, isDoneKey, type DoneKey } from "../pages/manage";
import { siteInfo } from "./helpers";
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

const ACTIONS = ["pause-week", "pause", "resume", "restart", "unsubscribe"] as const;
type Action = (typeof ACTIONS)[number];
const isAction = (value: string): value is Action => (ACTIONS as readonly string[]).includes(value);

const DONE: Record<Action, DoneKey> = {
  "pause-week": "paused-week",
  pause: "paused",
  resume: "resumed",
  restart: "restarted",
  unsubscribe: "unsubscribed",
};

/** The origin our pages are served from (APP_URL may carry a path; Origin never does). */
const appOrigin = (c: Context<AppEnv>) => new URL(c.get("deps").config.appUrl).origin;

export const manageRoutes = new Hono<AppEnv>()
  // Browsers send Origin (and Sec-Fetch-Site) with every form POST; a POST from another site, or
  // one with neither header, is refused with 403 before it reaches a handler.
  .use("/manage/*", csrf({ origin: (origin, c) => origin === appOrigin(c) }))
  .get("/manage/:token", async (c) => {
    const { db, clock, config } = c.get("deps");
    const token = c.req.param("token");
    const subscription = await findSubscription(db, await subscriberIdFrom(c, token, "manage"));
    if (!subscription) throw brokenLink();
    const done = c.req.query("done");
    markPrivate(c);
    return c.html(
      <ManagePage
        site={siteInfo(config)}
        subscription={subscription}
        base={`/manage/${encodeURIComponent(token)}`}
        now={clock()}
        done={isDoneKey(done) ? done : undefined}
      />,
    );
  })
  .get("/manage/:token/delete", async (c) => {
    const { db, config } = c.get("deps");
    const token = c.req.param("token");
    if (!(await findSubscription(db, await subscriberIdFrom(c, token, "manage")))) throw brokenLink();
    markPrivate(c);
    return c.html(<DeleteConfirmPage site={siteInfo(config)} base={`/manage/${encodeURIComponent(token)}`} />);
  })
  .post("/manage/:token/delete", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    const subscriberId = await subscriberIdFrom(c, c.req.param("token"), "manage");
    if (!(await deleteSubscriber(db, subscriberId, clock(), config.appSecret))) throw brokenLink();
    logger.info("subscriber_deleted", { subscriberId });
    await c.get("deps").afterErase?.();
    return c.redirect("/deleted", 303);
  })
  .post("/manage/:token/:action", async (c) => {
    const { db, clock, config, logger } = c.get("deps");
    const token = c.req.param("token");
    const action = c.req.param("action");
    if (!isAction(action)) throw new AppError(404, "not_found", "We couldn't find that page.");
    const subscriberId = await subscriberIdFrom(c, token, "manage");
    const now = clock();
    const schedule = { now, sendHour: config.sendHour };

    switch (action) {
      case "pause-week":
        check(await pauseForWeek(db, subscriberId, schedule));
        break;
      case "pause":
        check(await pauseUntilResumed(db, subscriberId, now));
        break;
      case "resume":
        check(await resume(db, subscriberId, schedule));
        break;
      case "restart":
        check(await restart(db, subscriberId, now));
        break;
      case "unsubscribe":
        if ((await unsubscribe(db, subscriberId, now, config.appSecret)) === "not_found") throw brokenLink();
        break;
    }
    logger.info("subscriber_control", { subscriberId, action });
    return c.redirect(`/manage/${encodeURIComponent(token)}?done=${DONE[action]}`, 303);
  })
  .get("/deleted", (c) => c.html(<DeletedPage site={siteInfo(c.get("deps").config)} />));
