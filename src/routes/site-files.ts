import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { FAVICON_SVG } from "../pages/assets";

/**
 * The files browsers and crawlers ask every site for: a favicon (without one, every page view logs
 * a 404) and robots.txt.
 */

/**
 * Paths whose URL carries a subscriber's token (manage, unsubscribe, view in browser, confirm,
 * lesson feedback):
 * served with `Referrer-Policy: no-referrer` and disallowed in robots.txt.
 */
export const TOKENISED_PATH_PREFIXES = ["/manage/", "/unsubscribe/", "/lessons/", "/confirm", "/feedback"] as const;

export const isTokenisedPath = (path: string): boolean => TOKENISED_PATH_PREFIXES.some((prefix) => path.startsWith(prefix));

/**
 * robots.txt (RFC 9309): the landing page may be crawled; tokenised pages, the console and the dev
 * outbox may not. The tokenised pages also answer `X-Robots-Tag: noindex`, since robots.txt is only
 * a request.
 */
export const ROBOTS_TXT = [
  "User-agent: *",
  "Allow: /$",
  ...TOKENISED_PATH_PREFIXES.map((prefix) => `Disallow: ${prefix}`),
  "Disallow: /admin",
  "Disallow: /dev/",
  "",
].join("\n");

const ONE_DAY = "public, max-age=86400";

export const siteFileRoutes = new Hono<AppEnv>()
  .get("/favicon.svg", (c) => c.body(FAVICON_SVG, 200, { "content-type": "image/svg+xml", "cache-control": ONE_DAY }))
  // Browsers that ignore <link rel="icon"> still ask for /favicon.ico; every current one renders SVG.
  .get("/favicon.ico", (c) => c.redirect("/favicon.svg", 301))
  .get("/robots.txt", (c) => c.body(ROBOTS_TXT, 200, { "content-type": "text/plain; charset=utf-8", "cache-control": ONE_DAY }));
