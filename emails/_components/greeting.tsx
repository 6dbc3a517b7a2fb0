import { Text } from "react-email";
import { GREETING_FALLBACK } from "../../src/mail/fields";
import { cls, paragraph } from "./styles";

/**
 * "Hi {firstName},". The name is printed exactly as given (no trimming or re-casing) so a
 * placeholder rendered here can be swapped for the real name afterwards. One template string
 * keeps it a single text node, so React doesn't put comment markers inside the sentence.
 */
export function Greeting({ firstName }: { firstName?: string | null }) {
  return (
    <Text className={cls.text} style={paragraph}>
      {`Hi ${firstName || GREETING_FALLBACK},`}
    </Text>
  );
}
