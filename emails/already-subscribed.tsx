import { Heading, Text } from "react-email";
import { z } from "zod";
import { ALREADY_SUBSCRIBED_EMAIL, COURSE_TITLE } from "../src/course/meta";
import { ActionLink, SignOff } from "./_components/action";
import { Footer } from "./_components/footer";
import { Greeting } from "./_components/greeting";
import { Layout } from "./_components/layout";
import { fieldSchemas } from "./_components/lesson-props";
import { exampleValues } from "../src/mail/fields";
import * as s from "./_components/styles";

export const propsSchema = z.object({
  ...fieldSchemas("alreadySubscribed"),
});
export type AlreadySubscribedProps = z.infer<typeof propsSchema>;
type Props = AlreadySubscribedProps;

/**
 * The answer to a signup from an address that is already enrolled. It goes out on the same path as
 * a confirmation (same limits, same answer on the page), so the signup form cannot tell anyone
 * whether an address is subscribed; only the inbox's owner learns it.
 */
export default function AlreadySubscribedEmail({ firstName, manageUrl, brandName, postalAddress, appUrl }: Props) {
  return (
    <Layout
      title={ALREADY_SUBSCRIBED_EMAIL.subject}
      preview={ALREADY_SUBSCRIBED_EMAIL.preview}
      brandName={brandName}
      footer={
        <Footer
          brandName={brandName}
          postalAddress={postalAddress}
          appUrl={appUrl}
          reason={`You're getting this email because someone, hopefully you, signed up for ${COURSE_TITLE} with this address, which is already subscribed.`}
        />
      }
    >
      <Heading as="h1" className={s.cls.text} style={s.h1}>
        You're already subscribed
      </Heading>
      <Greeting firstName={firstName} />
      <Text className={s.cls.text} style={s.paragraph}>
        {`Someone just signed up for ${COURSE_TITLE} with this email address. You're already enrolled, so there's nothing to confirm.`}
      </Text>
      <Text className={s.cls.text} style={s.paragraph}>
        Here's your personal link to see your progress, pause your lessons or leave the course:
      </Text>
      <ActionLink href={manageUrl} label="See my progress" />
      <Text className={s.cls.text} style={s.paragraph}>
        If this wasn't you, you can ignore this email. Nothing about your subscription has changed.
      </Text>
      <SignOff brandName={brandName} />
    </Layout>
  );
}

AlreadySubscribedEmail.PreviewProps = {
  ...exampleValues("alreadySubscribed"),
} satisfies Props;
