/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import type { AppEnv } from "../app-env";
import { SITE_CSS, TIMEZONE_JS } from "../pages/assets";
import { freshFormState } from "../lib/signup-guard";
import { CoursesPage, LandingPage } from "../pages/landing";
import { coursesOf } from "../course/registry";
import { AppError } from "../lib/errors";
import type { Config } from "../config";
import type { Course } from "../course/course";
import { siteInfo } from "./helpers";

const ONE_DAY = "public, max-age=86400";

/** Stands in for the form token in a cached page; plain ASCII, so rendering leaves it as it is. */
const TOKEN_SLOT = "form-token-slot-3b9e1d";

/** Rendered landing pages: per configuration, course and home-or-not, with TOKEN_SLOT for the token. */
const renderedPages = new WeakMap<Config, WeakMap<Course, Partial<Record<"home" | "page", string>>>>();

/**
 * A landing page with a fresh form token. Everything else on it depends only on the configuration
 * and the course, so it is rendered once per isolate or process and only the token (a JWT:
 * base64url and dots, nothing to escape) is put in per request.
 */
async function landingHtml(config: Config, course: Course, isDefault: boolean, now: number): Promise<string> {
  let byCourse = renderedPages.get(config);
  if (!byCourse) renderedPages.set(config, (byCourse = new WeakMap()));
  let pages = byCourse.get(course);
  if (!pages) byCourse.set(course, (pages = {}));
  const which = isDefault ? "home" : "page";
  const form = await freshFormState(config, now);
  pages[which] ??= String(
    await (
      <LandingPage site={siteInfo(config)} sendHour={config.sendHour} course={course} isDefault={isDefault} form={{ ...form, formToken: TOKEN_SLOT }} />
    ).toString(),
  );
  return pages[which].replace(TOKEN_SLOT, () => form.formToken);
}

export const landingRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const { config, clock } = c.get("deps");
    // The form carries the time it was served (signup protection), so the page must not be cached.
    c.header("Cache-Control", "no-store");
    const course = coursesOf(c.get("deps")).defaultCourse;
    return c.html(await landingHtml(config, course, true, clock()));
  })
  .get("/courses", (c) => {
    const deps = c.get("deps");
    return c.html(<CoursesPage site={siteInfo(deps.config)} courses={coursesOf(deps).allCourses()} />);
  })
  .get("/courses/:slug", async (c) => {
    const deps = c.get("deps");
    const course = coursesOf(deps).courseBySlug(c.req.param("slug"));
    if (!course) throw new AppError(404, "no_such_course", "There is no course at this address. See /courses for every course.");
    c.header("Cache-Control", "no-store");
    return c.html(await landingHtml(deps.config, course, false, deps.clock()));
  })
  .get("/assets/site.css", (c) => c.body(SITE_CSS, 200, { "content-type": "text/css; charset=utf-8", "cache-control": ONE_DAY }))
  .get("/assets/timezone.js", (c) =>
    c.body(TIMEZONE_JS, 200, { "content-type": "text/javascript; charset=utf-8", "cache-control": ONE_DAY }),
  )
  .get("/healthz", async (c) => {
    const { db, logger } = c.get("deps");
    try {
      await db.run(sql`select 1`);
      return c.json({ status: "ok" });
    } catch (error) {
      logger.error("health_check_failed", { reason: error instanceof Error ? error.name : "unknown" });
      return c.json({ status: "unavailable", message: "The database is not reachable." }, 503);
    }
  });
