import { Heading, Text } from "react-email";
import { z } from "zod";
import {
  COURSE_TITLE,
  CONFIRMATION_EMAIL,
  CONFIRM_LINK_TTL_HOURS,
  confirmationAbout,
  confirmationSubject,
  LESSON_META,
} from "../src/course/meta";
import { ActionLink, SignOff } from "./_components/action";
import { Footer } from "./_components/footer";
import { Greeting } from "./_components/greeting";
import { Layout } from "./_components/layout";
import { fieldSchemas } from "./_components/lesson-props";
import { exampleValues } from "../src/mail/fields";
import * as s from "./_components/styles";

export const propsSchema = z.object({
  ...fieldSchemas("confirmation"),
  /** The course the link enrols in; the gut–skin course when absent. */
  course: z.object({ title: z.string().min(1), lessonCount: z.number().int().positive(), days: z.number().int().nonnegative() }).optional(),
});
export type ConfirmSubscriptionProps = z.infer<typeof propsSchema>;
type Props = ConfirmSubscriptionProps;

const CLEAR_SKIN = confirmationAbout({ title: COURSE_TITLE, lessons: LESSON_META });

/** Double opt-in: nothing else is sent until this link is followed. */
export default function ConfirmSubscriptionEmail({ firstName, confirmUrl, brandName, postalAddress, appUrl, course = CLEAR_SKIN }: Props) {
  const { title, lessonCount, days: courseDays } = course;
  return (
    <Layout
      title={confirmationSubject(title)}
      preview={CONFIRMATION_EMAIL.preview}
      brandName={brandName}
      footer={
        <Footer
          brandName={brandName}
          postalAddress={postalAddress}
          appUrl={appUrl}
          reason={`You're getting this email because someone, hopefully you, signed up for ${title} with this address.`}
        />
      }
    >
      <Heading as="h1" className={s.cls.text} style={s.h1}>
        Please confirm your email
      </Heading>
      <Greeting firstName={firstName} />
      <Text className={s.cls.text} style={s.paragraph}>
        {`Thanks for signing up for ${title}, a short email course in ${lessonCount} lessons from ${brandName}.`}
      </Text>
      <Text className={s.cls.text} style={s.paragraph}>
        Please confirm that this is your email address, so we can start sending your lessons.
      </Text>
      <ActionLink href={confirmUrl} label={CONFIRMATION_EMAIL.button} />
      <Text className={s.cls.text} style={s.paragraph}>
        {`This link expires in ${CONFIRM_LINK_TTL_HOURS} hours. Once you confirm, lesson 1 is on its way, and the rest follow over the next ${courseDays} days.`}
      </Text>
      <Text className={s.cls.text} style={s.paragraph}>
        If you didn't sign up, ignore this email — you won't hear from us again.
      </Text>
      <SignOff brandName={brandName} />
    </Layout>
  );
}

ConfirmSubscriptionEmail.PreviewProps = {
  ...exampleValues("confirmation"),
} satisfies Props;
