import { createElement } from "react";
import ConfirmSubscription from "../../emails/confirm-subscription";
import type { Config } from "../config";
import { CONFIRMATION_EMAIL, renderEmail } from "../course";
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
