import type { Config } from "../config";
import type { Course, Lesson } from "../course/course";
import { DEFAULT_COURSE_SLUG } from "../course/default-slug";
import type { EmailKind, SiteValues } from "./fields";
import { bindSite, type CompiledCourse, type CompiledTemplate, type Template } from "./template";
import { COMPILED_EMAILS } from "./templates.generated";

/**
 * The compiled emails (src/mail/templates.generated.ts, from `npm run build:emails`), looked up
 * for a course and bound to one configuration's site values. No React: the server and the Worker
 * send these.
 */

/** The site values of a configuration (BRAND_NAME, MAIL_POSTAL_ADDRESS, APP_URL). */
export function siteValues(config: Pick<Config, "brandName" | "postalAddress" | "appUrl">): SiteValues {
  return { brandName: config.brandName, postalAddress: config.postalAddress, appUrl: config.appUrl };
}

/** `course`'s compiled emails; throws (naming the fix) when the build has not compiled them. */
export function courseEmails(course: Pick<Course, "slug" | "emails">): CompiledCourse {
  const emails = course.emails ?? COMPILED_EMAILS.courses[course.slug];
  if (!emails) throw new Error(`No compiled emails for course "${course.slug}": list its lessons in emails/_build/registry.ts and run npm run build:emails`);
  return emails;
}

/**
 * `lesson` of `course` (default: the default course) for one configuration: REPLY_TO set or not
 * picks the variant (lesson copy may say "just reply"); site values are filled once per
 * configuration and cached for the life of the process or isolate. No React at run time.
 */
export function lessonTemplate(
  lesson: Pick<Lesson, "slug">,
  config: Pick<Config, "brandName" | "postalAddress" | "appUrl" | "replyTo">,
  course: Pick<Course, "slug" | "emails"> = { slug: DEFAULT_COURSE_SLUG },
): Template<"lesson"> {
  const compiled = courseEmails(course).lessons[lesson.slug];
  if (!compiled) throw new Error(`No compiled email for lesson "${lesson.slug}" of course "${course.slug}": run npm run build:emails`);
  return bindSite(config.replyTo !== undefined ? compiled.repliesWelcome : compiled.plain, siteValues(config));
}

/** The confirmation email of `course` (default: the default course's) for one configuration. */
export function confirmationTemplate(config: Pick<Config, "brandName" | "postalAddress" | "appUrl">, course?: Pick<Course, "slug" | "emails">): Template<"confirmation"> {
  return bindSite(courseEmails(course ?? { slug: DEFAULT_COURSE_SLUG }).confirmation, siteValues(config));
}

function shared<E extends EmailKind>(template: CompiledTemplate<E>, config: Pick<Config, "brandName" | "postalAddress" | "appUrl">): Template<E> {
  return bindSite(template, siteValues(config));
}

/** The email to an address that signs up again while subscribed. */
export const alreadySubscribedTemplate = (config: Pick<Config, "brandName" | "postalAddress" | "appUrl">) => shared(COMPILED_EMAILS.alreadySubscribed, config);

/** The console's one-time sign-in email. */
export const signInTemplate = (config: Pick<Config, "brandName" | "postalAddress" | "appUrl">) => shared(COMPILED_EMAILS.signIn, config);
