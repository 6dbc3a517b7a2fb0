import { createElement, type FunctionComponent } from "react";
import AlreadySubscribed from "../../emails/already-subscribed";
import ConfirmSubscription, { confirmationSubject } from "../../emails/confirm-subscription";
import type { Course } from "../course/course";
import type { Config } from "../config";
import { CONFIRMATION_EMAIL, renderEmail } from "../course";
import { ALREADY_SUBSCRIBED_EMAIL } from "../course/meta";
import type { OutgoingEmail } from "./mailer";

/** Strips anything that could break out of a header line (CR, LF and other control characters). */
export function headerSafe(value: string): string {
  return value.replace(/[\p{Cc}]+/gu, " ").trim();
}

interface Recipient {
  email: string;
  firstName: string | null;
}

/** A one-off email (not a lesson): rendered for its recipient, html and text from one component. */
async function composeTransactional<P extends object>(
  config: Config,
  to: Recipient,
  email: { Component: FunctionComponent<P>; props: P; subject: string; category: string },
): Promise<OutgoingEmail> {
  const { html, text } = await renderEmail(createElement(email.Component, email.props));
  return {
    to: to.email,
    from: headerSafe(config.mailFrom),
    subject: email.subject,
    html,
    text,
    tags: [{ name: "category", value: email.category }],
  };
}

const site = (config: Config) => ({ brandName: config.brandName, postalAddress: config.postalAddress, appUrl: config.appUrl });

/** The double opt-in email; with `course`, for that course (default: the default course's copy). */
export function composeConfirmation(config: Config, to: Recipient, confirmUrl: string, course?: Course): Promise<OutgoingEmail> {
  const about = course && { title: course.title, lessonCount: course.lessons.length, days: Math.max(...course.lessons.map((l) => l.dayOffset)) };
  return composeTransactional(config, to, {
    Component: ConfirmSubscription,
    props: { firstName: to.firstName, confirmUrl, ...site(config), ...(about && { course: about }) },
    subject: about ? confirmationSubject(about.title) : CONFIRMATION_EMAIL.subject,
    category: "confirmation",
  });
}

/** For a signup from an address that is already subscribed: their manage link, nothing to confirm. */
export function composeAlreadySubscribed(config: Config, to: Recipient, manageUrl: string): Promise<OutgoingEmail> {
  return composeTransactional(config, to, {
    Component: AlreadySubscribed,
    props: { firstName: to.firstName, manageUrl, ...site(config) },
    subject: ALREADY_SUBSCRIBED_EMAIL.subject,
    category: "already-subscribed",
  });
}
