import type { Context } from "hono";
import type { AppEnv } from "../app-env";
import type { Course } from "../course/course";
import { coursesOf } from "../course/registry";
import { AppError } from "../lib/errors";
import { manageUrl } from "../lib/links";
import { signToken, verifyToken, type TokenPurpose } from "../lib/tokens";

/**
 * Shared by the pages behind the links in lesson emails (manage, unsubscribe, view in browser).
 * One answer for every broken link, so a page never tells a tampered token from an unknown or
 * deleted subscriber.
 */
export const brokenLink = () =>
  new AppError(
    404,
    "invalid_link",
    "This link doesn't work. It may have been cut short when it was copied, or the subscription it belonged to was deleted. If you still get lessons, use the link in your latest email.",
  );

/** The subscriber id a valid token for `purpose` names; a broken-link 404 otherwise. */
export async function subscriberIdFrom(c: Context<AppEnv>, token: string | undefined, purpose: TokenPurpose): Promise<string> {
  const { config, clock } = c.get("deps");
  const claims = await verifyToken(config.appSecret, token ?? "", purpose, clock());
  if (!claims) throw brokenLink();
  return claims.subscriberId;
}

/**
 * The subscriber id and course of a valid token for `purpose`; a broken-link 404 otherwise (also
 * for a course this service does not run). A token without a course (issued before there were
 * several) gives `course: undefined`.
 */
export async function tokenTarget(c: Context<AppEnv>, token: string | undefined, purpose: TokenPurpose): Promise<{ subscriberId: string; course: Course | undefined }> {
  const { config, clock } = c.get("deps");
  const claims = await verifyToken(config.appSecret, token ?? "", purpose, clock());
  if (!claims) throw brokenLink();
  if (claims.course === undefined) return { subscriberId: claims.subscriberId, course: undefined };
  const course = coursesOf(c.get("deps")).courseBySlug(claims.course);
  if (!course) throw brokenLink();
  return { subscriberId: claims.subscriberId, course };
}

/** Pages that carry a token in their URL and show personal data: not cached, not indexed. */
export function markPrivate(c: Context<AppEnv>) {
  c.header("Cache-Control", "no-store");
  c.header("X-Robots-Tag", "noindex");
}

/** The site-relative manage page of a subscriber (forms post below it). */
export async function managePath(c: Context<AppEnv>, subscriberId: string): Promise<string> {
  const { config } = c.get("deps");
  return manageUrl("", await signToken(config.appSecret, { purpose: "manage", subscriberId }));
}
