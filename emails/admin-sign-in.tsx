import { Heading, Text } from "react-email";
import { z } from "zod";
import { ActionLink } from "./_components/action";
import { Footer } from "./_components/footer";
import { Layout } from "./_components/layout";
import { fieldSchemas } from "./_components/lesson-props";
import { exampleValues } from "../src/mail/fields";
import * as s from "./_components/styles";

import { ADMIN_SIGN_IN_SUBJECT } from "../src/admin/sign-in-email";

export const propsSchema = z.object({
  ...fieldSchemas("signIn"),
  /** Minutes the link stays valid. */
  validMinutes: z.number().int().positive(),
});
export type AdminSignInProps = z.infer<typeof propsSchema>;
type Props = AdminSignInProps;

/** A one-time link into the operator console (src/admin): no password to keep or leak. */
export default function AdminSignInEmail({ signInUrl, validMinutes, brandName, postalAddress, appUrl }: Props) {
  return (
    <Layout
      title={ADMIN_SIGN_IN_SUBJECT}
      preview={`Sign in to the ${brandName} console. The link works once, for ${validMinutes} minutes.`}
      brandName={brandName}
      footer={
        <Footer
          brandName={brandName}
          postalAddress={postalAddress}
          appUrl={appUrl}
          disclaimer={false}
          reason="You're getting this email because someone asked to sign in to the course console with this address, which is on its list of operators."
        />
      }
    >
      <Heading as="h1" className={s.cls.text} style={s.h1}>
        Sign in to the console
      </Heading>
      <Text className={s.cls.text} style={s.paragraph}>
        {`Use this link to sign in. It works once, within ${validMinutes} minutes.`}
      </Text>
      <ActionLink href={signInUrl} label="Sign in" />
      <Text className={s.cls.text} style={s.paragraph}>
        If you didn't ask to sign in, ignore this email: nobody can use the link without access to your inbox.
      </Text>
    </Layout>
  );
}

AdminSignInEmail.PreviewProps = {
  ...exampleValues("signIn"),
  validMinutes: 15,
} satisfies Props;
