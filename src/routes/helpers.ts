import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { Config } from "../config";
import type { SiteInfo } from "../pages/layout";

/** A client that sent or asked for JSON gets JSON answers; browsers get pages. */
export function wantsJson(c: Context<AppEnv>): boolean {
  const type = c.req.header("content-type") ?? "";
  const accept = c.req.header("accept") ?? "";
  return type.includes("application/json") || (accept.includes("application/json") && !accept.includes("text/html"));
}

/** Whether the request body is JSON, by its Content-Type (what a client asks back for does not matter). */
export function sentJson(c: Context<AppEnv>): boolean {
  return (c.req.header("content-type") ?? "").toLowerCase().includes("application/json");
}

/**
 * A form body (urlencoded or multipart) as fields, or null when it cannot be read. A repeated field
 * counts once, with its first value (Hono's default keeps the last), so `a=x&a=y` cannot smuggle a
 * second value past what a page shows.
 */
export async function formFields(c: Pick<Context, "req">): Promise<Record<string, unknown> | null> {
  const form = await c.req.parseBody({ all: true }).catch(() => null);
  if (!form) return null;
  return Object.fromEntries(Object.entries(form).map(([key, value]) => [key, Array.isArray(value) ? value[0] : value]));
}

/**
 * Whether a browser says this request comes from another site: a `Sec-Fetch-Site: cross-site`
 * (Fetch Metadata) or an `Origin` that is neither ours nor `null` (Chromium sends `null` from our own
 * no-referrer pages). Absent headers say nothing: scripts and old browsers send neither, and the
 * signed form tokens are the defence that does not depend on them.
 */
export function fromAnotherSite(c: Context<AppEnv>): boolean {
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== "null" && origin !== new URL(c.get("deps").config.appUrl).origin) return true;
  return c.req.header("sec-fetch-site") === "cross-site";
}

export function siteInfo(config: Config): SiteInfo {
  return { brandName: config.brandName, postalAddress: config.postalAddress, appUrl: config.appUrl };
}
