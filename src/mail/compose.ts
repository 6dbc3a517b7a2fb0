import { createElement } from "react";
import AlreadySubscribed from "../../emails/already-subscribed";
import ConfirmSubscription from "../../emails/confirm-subscription";
import type { Config } from "../config";
import { CONFIRMATION_EMAIL, renderEmail } from "../course";
import { ALREADY_SUBSCRIBED_EMAIL } from "../course/meta";
import type { OutgoingEmail } from "./mailer";

/** Strips anything that could break out of a header line (CR, LF and other control characters). */
export function headerSafe(value: string): string {
  return value.replace(/[\p{Cc}]+/gu, " ").trim();
}

export async function composeConfirmation(
  config: Config,
  to: { email: string; firstName: string | null },
  confirmUrl: string,
): Promise<OutgoingEmail> {
  const { html, text } = await renderEmail(
    createElement(ConfirmSubscription, {
      firstName: to.firstName,
      confirmUrl,
      brandName: config.brandName,
      postalAddress: config.postalAddress,
      appUrl: config.appUrl,
    }),
  );
  return {
    to: to.email,
    from: headerSafe(config.mailFrom),
    subject: CONFIRMATION_EMAIL.subject,
    html,
    text,
    tags: [{ name: "category", value: "confirmation" }],
  };
}

/** For a signup from an address that is already subscribed: their manage link, nothing to confirm. */
export async function composeAlreadySubscribed(
  config: Config,
  to: { email: string; firstName: string | null },
  manageUrl: string,
): Promise<OutgoingEmail> {
  const { html, text } = await renderEmail(
    createElement(AlreadySubscribed, {
      firstName: to.firstName,
      manageUrl,
      brandName: config.brandName,
      postalAddress: config.postalAddress,
      appUrl: config.appUrl,
    }),
  );
  return {
    to: to.email,
    from: headerSafe(config.mailFrom),
    subject: ALREADY_SUBSCRIBED_EMAIL.subject,
    html,
    text,
    tags: [{ name: "category", value: "already-subscribed" }],
  };
}
