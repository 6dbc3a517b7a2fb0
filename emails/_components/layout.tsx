import type { ReactNode } from "react";
import { Body, Container, Head, Html, Preview, Section, Text } from "react-email";
import { MsoColumnEnd, MsoColumnStart } from "./mso";
import * as s from "./styles";

export interface LayoutProps {
  /** The document title (shown when the email is opened in a browser): the subject line. */
  title: string;
  /** Inbox preview text (the snippet after the subject). */
  preview: string;
  brandName: string;
  children: ReactNode;
  /** Rendered below the card, outside it. */
  footer: ReactNode;
}

/**
 * The frame every email shares: brand header, a white card on a warm background, footer.
 * Fluid at any width (100% up to 600px; Outlook for Windows, which ignores max-width, gets a
 * fixed 600px table in conditional comments); dark mode via the color-scheme metas plus the
 * class overrides in `responsiveCss`; no images, so nothing depends on images loading.
 */
export function Layout({ title, preview, brandName, children, footer }: LayoutProps) {
  return (
    <Html lang="en" dir="ltr">
      <Head>
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="supported-color-schemes" content="light dark" />
        <title>{title}</title>
        <style>{s.responsiveCss}</style>
      </Head>
      <Preview useTitleTag={false}>{preview}</Preview>
      <Body className={s.cls.body} style={s.body}>
        {/* The page colour sits on our own wrapper (not on <Body>, which copies it onto a cell we
            can't put a class on), so the dark-mode rule can reach it. */}
        <Section className={s.cls.page} tdClassName={s.cls.pageCell} style={s.page}>
          <MsoColumnStart />
          <Container style={s.container}>
            <Section style={s.header}>
              <Text className={s.cls.brand} style={s.brand}>
                {brandName}
              </Text>
            </Section>
            <Section className={s.cls.card} tdClassName={s.cls.cardCell} style={s.card}>
              {children}
            </Section>
            {footer}
          </Container>
          <MsoColumnEnd />
        </Section>
      </Body>
    </Html>
  );
}
