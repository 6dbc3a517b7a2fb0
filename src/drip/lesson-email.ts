import type { Config } from "../config";
import { type Course, DEFAULT_COURSE, type Lesson } from "../course";
import { lessonEmailLinks } from "../lib/links";
import { headerSafe } from "../mail/compose";
import type { OutgoingEmail } from "../mail/mailer";
import { personalise, type Personalisation, type Template } from "./personalise";

export { personalise };

/**
 * Every per-recipient link of one lesson email (src/lib/links.ts): the one place lesson emails and
 * the web archive make them, so a change to link signing is a change here.
 */
export function lessonLinks(
  config: Pick<Config, "appUrl" | "appSecret">,
  who: { subscriberId: string; run: number },
  lesson: Lesson,
  course: Pick<Course, "slug">,
): Omit<Personalisation, "firstName"> {
  // One token (one HMAC) for every link of the email.
  return lessonEmailLinks(config.appUrl, config.appSecret, { subscriberId: who.subscriberId, course: course.slug, run: who.run, lesson });
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
export function composeLessonEmail(
  config: Config,
  lesson: Lesson,
  template: Template<"lesson">,
  recipient: LessonRecipient,
  course: Pick<Course, "slug"> = DEFAULT_COURSE,
): OutgoingEmail {
  const links = lessonLinks(config, recipient, lesson, course);
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
