import { createElement } from "react";
import type { Config } from "../config";
import { type Course, DEFAULT_COURSE, type Lesson, renderEmail } from "../course";
import { lessonEmailLinks } from "../lib/links";
import { headerSafe } from "../mail/compose";
import type { OutgoingEmail } from "../mail/mailer";
import { compileTemplate, MARKERS, personalise, type Template } from "./personalise";

/**
 * Rendered lesson templates, kept for the life of the process or isolate: React renders each
 * lesson once per configuration, and every email after that is string work.
 */
const templates = new Map<string, Promise<Template>>();

/**
 * The compiled template of `lesson` of `course` (default: the default course), cached per course,
 * lesson and configuration (REPLY_TO set or not changes lesson 1's copy).
 */
export function lessonTemplate(
  lesson: Lesson,
  config: Pick<Config, "brandName" | "postalAddress" | "appUrl" | "replyTo">,
  course: Pick<Course, "slug"> = DEFAULT_COURSE,
): Promise<Template> {
  const repliesWelcome = config.replyTo !== undefined;
  const key = `${course.slug}\n${lesson.number}\n${config.brandName}\n${config.postalAddress}\n${config.appUrl}\n${repliesWelcome}`;
  let template = templates.get(key);
  if (!template) {
    template = renderEmail(
      createElement(lesson.Email, {
        ...MARKERS,
        brandName: config.brandName,
        postalAddress: config.postalAddress,
        appUrl: config.appUrl,
        repliesWelcome,
      }),
    ).then(compileTemplate);
    // A failed render must not poison the cache.
    template.catch(() => templates.delete(key));
    templates.set(key, template);
  }
  return template;
}

export interface LessonRecipient {
  subscriberId: string;
  email: string;
  firstName: string | null;
  /** The enrollment run this lesson is sent in; the feedback links name it. */
  run: number;
}

/**
 * One recipient's lesson email, with RFC 8058 one-click unsubscribe headers, the feedback links,
 * and Reply-To when REPLY_TO is set. Provider tags name the course (`course`: its slug) and the
 * lesson number, so webhook events and reports can tell courses apart.
 */
export async function composeLessonEmail(
  config: Config,
  lesson: Lesson,
  template: Template,
  recipient: LessonRecipient,
  course: Pick<Course, "slug"> = DEFAULT_COURSE,
): Promise<OutgoingEmail> {
  // One token (one HMAC) for every link of the email: src/lib/links.ts.
  const links = lessonEmailLinks(config.appUrl, config.appSecret, { subscriberId: recipient.subscriberId, course: course.slug, run: recipient.run, lesson });
  const { html, text } = personalise(template, { firstName: recipient.firstName, ...links });
  return {
    to: recipient.email,
    from: headerSafe(config.mailFrom),
    ...(config.replyTo !== undefined && { replyTo: headerSafe(config.replyTo) }),
    subject: lesson.subject,
    html,
    text,
    headers: {
      // RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to this URL.
      "List-Unsubscribe": `<${links.unsubscribeUrl}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
      // RFC 3834: scheduled, not written to this reader, so vacation and out-of-office responders stay
      // quiet (Exchange reads the second header): the REPLY_TO inbox gets people's replies, not robots'.
      "Auto-Submitted": "auto-generated",
      "X-Auto-Response-Suppress": "OOF, AutoReply",
    },
    tags: [
      { name: "category", value: "lesson" },
      { name: "course", value: course.slug },
      { name: "lesson", value: String(lesson.number) },
    ],
  };
}
