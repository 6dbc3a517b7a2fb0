import { Fragment } from "react";
import { Link, Section, Text } from "react-email";
import { DISCLAIMER } from "../../src/course/meta";
import { senderParts } from "../../src/lib/sender";
import { cls, footer, footerLink, footerText } from "./styles";

/** The one disclaimer text (src/course/meta.ts), re-exported for the email tests. */
export { DISCLAIMER };

interface FooterLinksProps {
  manageUrl: string;
  unsubscribeUrl: string;
  viewInBrowserUrl: string;
}

interface FooterProps {
  brandName: string;
  postalAddress: string;
  appUrl: string;
  /** Why this person is getting the email. */
  reason: string;
  /** Lesson emails carry the disclaimer; the confirmation email may omit it. */
  disclaimer?: boolean;
  /** Manage / unsubscribe / view-in-browser links; lesson emails only. */
  links?: FooterLinksProps;
}

/**
 * Footer: disclaimer, the reason for the email, one link per line (so the plain-text version
 * reads "Unsubscribe (https://...)" on its own line), and the postal address that anti-spam law
 * (CAN-SPAM, and the UK/EU equivalents) asks commercial email to carry.
 */
export function Footer({ brandName, postalAddress, appUrl, reason, disclaimer = true, links }: FooterProps) {
  return (
    <Section style={footer}>
      {disclaimer ? (
        <Text className={cls.muted} style={footerText}>
          {DISCLAIMER}
        </Text>
      ) : null}
      <Text className={cls.muted} style={footerText}>
        {reason}
      </Text>
      {links ? (
        <>
          <Text className={cls.muted} style={footerText}>
            <Link className={cls.mutedLink} href={links.manageUrl} style={footerLink}>
              Pause or manage your lessons
            </Link>
          </Text>
          <Text className={cls.muted} style={footerText}>
            <Link className={cls.mutedLink} href={links.unsubscribeUrl} style={footerLink}>
              Unsubscribe
            </Link>
          </Text>
          <Text className={cls.muted} style={footerText}>
            <Link className={cls.mutedLink} href={links.viewInBrowserUrl} style={footerLink}>
              View in browser
            </Link>
          </Text>
        </>
      ) : null}
      <Text className={cls.muted} style={footerText}>
        {senderParts(brandName, postalAddress).map((part) => (
          <Fragment key={part}>
            {part}
            <br />
          </Fragment>
        ))}
        <Link className={cls.mutedLink} href={appUrl} style={footerLink}>
          {appUrl}
        </Link>
      </Text>
    </Section>
  );
}
