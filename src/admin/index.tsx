/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AppEnv } from "../app-env";
import { AppError } from "../lib/errors";
import { errorFields } from "../lib/logger";
import { authRoutes, consoleOn, logoutRoutes } from "./auth";
import { CONSOLE_CSS, ConsolePage } from "./layout";
import { CONSOLE_JS } from "./script";
import { dashboardRoutes } from "./dashboard";
import { subscriberRoutes } from "./subscribers";
import { csvRoutes } from "./csv";
import { mailRoutes } from "./mail";
import { keyRoutes } from "./keys";
import { webhookConsoleRoutes } from "./webhooks";

/**
 * The operator console at /admin: HTML pages behind passwordless sign-in. Its routes are named one
 * by one (no /admin/* catch-all). Errors are pages, not JSON (the JSON operations live in /api/v1).
 */
export const consoleRoutes = new Hono<AppEnv>();

const asset = (body: string, type: string) => (c: Context<AppEnv>) =>
  c.body(body, 200, { "content-type": type, "cache-control": "public, max-age=3600" });

consoleRoutes.get("/assets/console.css", consoleOn, asset(CONSOLE_CSS, "text/css; charset=utf-8"));
consoleRoutes.get("/assets/console.js", consoleOn, asset(CONSOLE_JS, "text/javascript; charset=utf-8"));
for (const path of ["/login", "/sign-in", "/logout"]) consoleRoutes.use(path, consoleOn);
consoleRoutes.route("/", authRoutes);
consoleRoutes.route("/", logoutRoutes);
consoleRoutes.route("/", dashboardRoutes);
consoleRoutes.route("/", subscriberRoutes);
consoleRoutes.route("/", csvRoutes);
consoleRoutes.route("/", mailRoutes);
consoleRoutes.route("/", keyRoutes);
consoleRoutes.route("/", webhookConsoleRoutes);

consoleRoutes.onError((error, c) => {
  const { config, logger } = c.get("deps");
  let status = 500;
  let message = "Something went wrong on our side. Please try again in a moment.";
  if (error instanceof AppError || (error instanceof HTTPException && error.status < 500)) {
    status = error.status;
    message = error.message || "The request could not be processed.";
    if (error instanceof AppError) for (const [name, value] of Object.entries(error.headers)) c.header(name, value);
  } else {
    logger.error("unhandled_error", { requestId: c.get("requestId"), path: c.req.routePath, ...errorFields(error) });
  }
  const title = status === 404 ? "Page not found" : status === 401 ? "Please sign in" : status >= 500 ? "Something went wrong" : "That didn't work";
  return c.html(
    <ConsolePage title={title} brandName={config.brandName}>
      <p class="lead">{message}</p>
      <p>
        <a href={status === 401 ? "/admin/login" : "/admin"}>{status === 401 ? "Sign in" : "Back to the console"}</a>
      </p>
    </ConsolePage>,
    status as 400,
  );
});
