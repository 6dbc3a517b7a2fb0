import { Hr, Link, Section, Text } from "react-email";
import * as s from "./styles";

export interface LessonFeedbackProps {
  /** Signed per-recipient links (src/lib/links.ts, `signedFeedbackLinks`); printed verbatim. */
  helpfulUrl: string;
  notHelpfulUrl: string;
}

const answer = { ...s.link, fontWeight: 700 };

/**
 * "Was this lesson helpful?" under the lesson: two plain links, one per line, so the plain-text part
 * reads "Yes (https://...)" and "Not really (https://...)" on lines of their own. Opening a link only
 * shows a thank-you page; the page records the answer (link scanners open every link in an email).
 */
export function LessonFeedback({ helpfulUrl, notHelpfulUrl }: LessonFeedbackProps) {
  return (
    <Section>
      <Hr className={s.cls.hr} style={s.hr} />
      <Text className={s.cls.text} style={{ ...s.paragraph, fontWeight: 700, margin: "0 0 8px" }}>
        Was this lesson helpful?
      </Text>
      <Text className={s.cls.text} style={{ ...s.paragraph, margin: "0 0 4px" }}>
        <Link className={s.cls.link} href={helpfulUrl} style={answer}>
          Yes
        </Link>
      </Text>
      <Text className={s.cls.text} style={{ ...s.paragraph, margin: "0 0 8px" }}>
        <Link className={s.cls.link} href={notHelpfulUrl} style={answer}>
          Not really
        </Link>
      </Text>
    </Section>
  );
}
