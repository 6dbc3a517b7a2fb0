import type { Course } from "../course/course";
import type { Config } from "../config";
import { ALREADY_SUBSCRIBED_EMAIL, CONFIRMATION_EMAIL, confirmationSubject } from "../course/meta";
import { alreadySubscribedTemplate, confirmationTemplate } from "./emails";
import type { EmailKind, RecipientValues } from "./fields";
import type { OutgoingEmail } from "./mailer";
import { fillTemplate, type Template } from "./template";

/** Strips anything that could break out of a header line (CR, LF and other control characters). */
export function headerSafe(value: string): string {
  return value.replace(/[\p{Cc}]+/gu, " ").trim();
}

interface Recipient {
  email: string;
  firstName: string | null;
}

/** A one-off email (not a lesson): its compiled template filled for its recipient. */
function composeTransactional<E extends EmailKind>(
  config: Config,
  to: Recipient,
  email: { template: Template<E>; values: RecipientValues<E>; subject: string; category: string },
): OutgoingEmail {
  const { html, text } = fillTemplate(email.template, email.values);
  return {
    to: to.email,
    from: headerSafe(config.mailFrom),
    subject: email.subject,
    html,
    text,
    tags: [{ name: "category", value: email.category }],
  };
}

/** The double opt-in email; with `course`, for that course (default: the default course's copy). */
export async function composeConfirmation(config: Config, to: Recipient, confirmUrl: string, course?: Course): Promise<OutgoingEmail> {
  return composeTransactional(config, to, {
    template: confirmationTemplate(config, course),
    values: { firstName: to.firstName, confirmUrl },
    subject: course ? confirmationSubject(course.title) : CONFIRMATION_EMAIL.subject,
    category: "confirmation",
  });
}

/** For a signup from an address that is already subscribed: their manage link, nothing to confirm. */
export async function composeAlreadySubscribed(config: Config, to: Recipient, manageUrl: string): Promise<OutgoingEmail> {
  return composeTransactional(config, to, {
    template: alreadySubscribedTemplate(config),
    values: { firstName: to.firstName, manageUrl },
    subject: ALREADY_SUBSCRIBED_EMAIL.subject,
    category: "already-subscribed",
  });
}
