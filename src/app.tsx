/** @jsxImportSource hono/jsx */
import { Hono, type Context } from "hono";
import { PatternRouter } from "hono/router/pattern-router";
import { bodyLimit } from "hono/body-limit";
import { compress } from "hono/compress";
import { HTTPException } from "hono/http-exception";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { AppDeps, AppEnv } from "./app-env";
import { apiRoutes } from "./api";
import { AppError } from "./lib/errors";
import { errorFields } from "./lib/logger";
import { MessagePage } from "./pages/layout";
import { consoleRoutes } from "./admin";
import { confirmRoutes } from "./routes/confirm";
import { feedbackRoutes } from "./routes/feedback";
import { siteInfo, wantsJson } from "./routes/helpers";
import { landingRoutes } from "./routes/landing";
import { lessonRoutes } from "./routes/lessons";
import { manageRoutes } from "./routes/manage";
import { signupRoutes } from "./routes/signup";
import { isTokenisedPath, siteFileRoutes } from "./routes/site-files";
import { unsubscribeRoutes } from "./routes/unsubscribe";
import { webhookRoutes } from "./routes/webhooks";

export type { AppDeps, AppEnv } from "./app-env";

/** Bodies we accept are small forms and webhook events; anything larger is refused unread. */
const MAX_BODY_BYTES = 64 * 1024;

function errorResponse(c: Context<AppEnv>, status: ContentfulStatusCode, code: string, message: string, headers: Record<string, string> = {}) {
  for (const [name, value] of Object.entries(headers)) c.header(name, value);
  if (wantsJson(c) || c.req.path.startsWith("/webhooks/") || c.req.path.startsWith("/api/")) {
    return c.json({ error: { code, message, requestId: c.get("requestId") } }, status);
  }
  const title = status === 404 ? "Page not found" : status >= 500 ? "Something went wrong" : "That didn't work";
  return c.html(
    <MessagePage title={title} site={siteInfo(c.get("deps").config)}>
      <p class="lead">{message}</p>
      <p>
        <a href="/">Go to the home page</a>
      </p>
    </MessagePage>,
    status,
  );
}

/** Builds the whole web app from its dependencies; the entries only wire runtime things. */
export function createApp(deps: AppDeps) {
  // PatternRouter: Hono's default (RegExpRouter) compiles one regex of all our routes on the first
  // request, about 6 ms of CPU that a fresh Worker isolate pays again; matching them one by one
  // costs a few µs per request instead (bench:edge, bench/profile-signup.ts).
  const app = new Hono<AppEnv>({ router: new PatternRouter() });

  app.use(requestId());
  app.use(async (c, next) => {
    c.set("deps", deps);
    await next();
  });
  // Turnstile's script and its challenge frame come from Cloudflare; allowed only when it is on.
  const challenges = deps.config.turnstile ? ["https://challenges.cloudflare.com"] : [];
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        scriptSrc: ["'self'", ...challenges],
        // Our own scripts may call back to us (the feedback page POSTs its vote); nowhere else.
        connectSrc: ["'self'"],
        ...(challenges.length > 0 && { frameSrc: challenges }),
        imgSrc: ["'self'", "data:"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      // Keeps our origin on same-site requests (form POSTs then carry a real Origin) and sends only
      // the origin cross-site. Pages with a token in their URL say `no-referrer` (below).
      referrerPolicy: "strict-origin-when-cross-origin",
      // Routes that must relax the policy (the web archive, the dev outbox) set their own header.
      overwrite: false,
    }),
  );
  // A URL holding a subscriber's token must never leave in a Referer header, not even to a link on
  // the same page; error pages on those paths included. Their forms carry a signed form token, since
  // Chromium then sends `Origin: null` (src/lib/form-token.ts).
  app.use(async (c, next) => {
    await next();
    if (isTokenisedPath(c.req.path)) c.header("Referrer-Policy", "no-referrer");
  });
  if (deps.compress) app.use(compress());
  const limitTo = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw new AppError(413, "payload_too_large", "The request body is too large.");
      },
    });
  const smallBodies = limitTo(MAX_BODY_BYTES);
  // The console's CSV upload is the one large body: its route streams it and counts its bytes
  // against MAX_IMPORT_BYTES itself (src/admin/upload-stream.ts); bodyLimit would buffer it whole.
  const isUpload = (c: Context) => c.req.method === "POST" && c.req.path === "/admin/imports" && /^multipart\/form-data/i.test(c.req.header("content-type") ?? "");
  app.use((c, next) => (isUpload(c) ? next() : smallBodies(c, next)));

  app.route("/", landingRoutes);
  app.route("/", siteFileRoutes);
  app.route("/", signupRoutes);
  app.route("/", confirmRoutes);
  app.route("/", manageRoutes);
  app.route("/", unsubscribeRoutes);
  app.route("/", lessonRoutes);
  app.route("/", feedbackRoutes);
  app.route("/", webhookRoutes);
  app.route("/", apiRoutes);
  // The console names its routes one by one (no /admin/* catch-all).
  app.route("/admin", consoleRoutes);

  app.notFound((c) => errorResponse(c, 404, "not_found", "We couldn't find that page."));
  app.onError((error, c) => {
    if (error instanceof AppError) return errorResponse(c, error.status, error.code, error.message, error.headers);
    if (error instanceof HTTPException && error.status < 500) {
      return errorResponse(c, error.status, "bad_request", error.message || "The request could not be processed.");
    }
    // Unexpected: log what helps an operator (never request bodies or personal data), answer plainly.
    deps.logger.error("unhandled_error", { requestId: c.get("requestId"), path: c.req.routePath, ...errorFields(error) });
    return errorResponse(c, 500, "internal_error", "Something went wrong on our side. Please try again in a moment.");
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
