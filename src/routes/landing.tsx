/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { sql } from "drizzle-orm";
import type { AppEnv } from "../app-env";
import { SITE_CSS, TIMEZONE_JS } from "../pages/assets";
import { freshFormState } from "../lib/signup-guard";
import { CoursesPage, LandingPage } from "../pages/landing";
import { coursesOf } from "../course/registry";
import { AppError } from "../lib/errors";
import { siteInfo } from "./helpers";

const ONE_DAY = "public, max-age=86400";

export const landingRoutes = new Hono<AppEnv>()
  .get("/", async (c) => {
    const { config, clock } = c.get("deps");
    // The form carries the time it was served (signup protection), so the page must not be cached.
    c.header("Cache-Control", "no-store");
    const course = coursesOf(c.get("deps")).defaultCourse;
    return c.html(<LandingPage site={siteInfo(config)} sendHour={config.sendHour} course={course} isDefault form={await freshFormState(config, clock())} />);
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
    return c.html(
      <LandingPage site={siteInfo(deps.config)} sendHour={deps.config.sendHour} course={course} isDefault={false} form={await freshFormState(deps.config, deps.clock())} />,
    );
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
