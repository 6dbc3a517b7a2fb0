import { createElement } from "react";
import type { Config } from "../config";
import { type Course, DEFAULT_COURSE, type Lesson, renderEmail } from "../course";
import { signedLessonUrl, signedSubscriberLinks } from "../lib/links";
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
 * lesson and configuration.
 */
export function lessonTemplate(
  lesson: Lesson,
  config: Pick<Config, "brandName" | "postalAddress" | "appUrl">,
  course: Pick<Course, "slug"> = DEFAULT_COURSE,
): Promise<Template> {
  const key = `${course.slug}\n${lesson.number}\n${config.brandName}\n${config.postalAddress}\n${config.appUrl}`;
  let template = templates.get(key);
  if (!template) {
    template = renderEmail(
      createElement(lesson.Email, {
        ...MARKERS,
        brandName: config.brandName,
        postalAddress: config.postalAddress,
        appUrl: config.appUrl,
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
}

/**
 * One recipient's lesson email, with RFC 8058 one-click unsubscribe headers. Provider tags name the
 * course (`course`: its slug) and the lesson number, so webhook events and reports can tell courses apart.
 */
export async function composeLessonEmail(
  config: Config,
  lesson: Lesson,
  template: Template,
  recipient: LessonRecipient,
  course: Pick<Course, "slug"> = DEFAULT_COURSE,
): Promise<OutgoingEmail> {
  const [links, viewInBrowserUrl] = await Promise.all([
    signedSubscriberLinks(config.appUrl, config.appSecret, recipient.subscriberId, course.slug),
    signedLessonUrl(config.appUrl, config.appSecret, recipient.subscriberId, lesson, course.slug),
  ]);
  const { html, text } = personalise(template, { firstName: recipient.firstName, ...links, viewInBrowserUrl });
  return {
    to: recipient.email,
    from: headerSafe(config.mailFrom),
    subject: lesson.subject,
    html,
    text,
    headers: {
      // RFC 2369 and RFC 8058: mail clients show an unsubscribe button that POSTs to this URL.
      "List-Unsubscribe": `<${links.unsubscribeUrl}>`,
      "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
    tags: [
      { name: "category", value: "lesson" },
      { name: "course", value: course.slug },
      { name: "lesson", value: String(lesson.number) },
    ],
  };
}
