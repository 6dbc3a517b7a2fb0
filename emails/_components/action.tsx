import { Button, Link, Section, Text } from "react-email";
import * as s from "./styles";

/**
 * The one thing a transactional email asks the reader to do: a button, and the same link written
 * out for clients that block buttons (and for the plain-text part).
 */
export function ActionLink({ href, label }: { href: string; label: string }) {
  return (
    <>
      <Section style={{ margin: "8px 0 24px" }}>
        <Button className={s.cls.button} href={href} style={s.button}>
          {label}
        </Button>
      </Section>
      <Text className={s.cls.text} style={{ ...s.paragraph, margin: "0 0 4px" }}>
        Or copy and paste this link into your browser:
      </Text>
      <Text className={s.cls.text} style={s.paragraph}>
        <Link className={s.cls.link} href={href} style={s.writtenOutUrl}>
          {href}
        </Link>
      </Text>
    </>
  );
}

export function SignOff({ brandName }: { brandName: string }) {
  return (
    <Text className={s.cls.text} style={{ ...s.paragraph, margin: "24px 0 0" }}>
      Warmly,
      <br />
      {`The ${brandName} team`}
    </Text>
  );
}
