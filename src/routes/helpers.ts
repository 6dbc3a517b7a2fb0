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

export function siteInfo(config: Config): SiteInfo {
  return { brandName: config.brandName, postalAddress: config.postalAddress, appUrl: config.appUrl };
}
