import type { CSSProperties } from "react";

/**
 * Shared inline styles. Email clients ignore most <style> rules, so everything that matters is
 * inline; the <style> block in the layout only adds dark-mode and narrow-screen refinements for
 * clients that support them (Apple Mail, iOS Mail, Outlook for Mac, Thunderbird).
 *
 * Colours are solid (no transparency, no images) so clients that invert colours in dark mode
 * (Gmail apps, Outlook.com) still produce readable contrast. Body text is at least 13:1 against
 * its background in both palettes; muted text, links and the button are at least 5.5:1 (WCAG AA
 * asks for 4.5:1).
 */
export const colors = {
  page: "#f3f0e8",
  card: "#ffffff",
  text: "#1f2a24",
  muted: "#4a5750",
  accent: "#2d6a4f",
  accentText: "#ffffff",
  calloutBg: "#edf5f0",
  rule: "#d9ddd8",
} as const;

const fontFamily =
  "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, 'Helvetica Neue', Helvetica, Arial, sans-serif";

export const body: CSSProperties = {
  backgroundColor: colors.page,
  margin: 0,
  padding: 0,
  fontFamily,
  color: colors.text,
};

export const page: CSSProperties = {
  width: "100%",
  backgroundColor: colors.page,
  padding: "24px 8px",
};

/** Fluid up to 600px: `width: 100%` with a max-width, never a fixed width. */
export const container: CSSProperties = {
  width: "100%",
  maxWidth: "600px",
  margin: "0 auto",
};

export const header: CSSProperties = {
  padding: "8px 4px 16px",
};

export const brand: CSSProperties = {
  margin: 0,
  fontSize: "16px",
  lineHeight: "24px",
  fontWeight: 700,
  letterSpacing: "0.02em",
  color: colors.accent,
};

export const card: CSSProperties = {
  backgroundColor: colors.card,
  borderRadius: "8px",
  padding: "32px 28px",
};

export const eyebrow: CSSProperties = {
  margin: "0 0 8px",
  fontSize: "13px",
  lineHeight: "20px",
  fontWeight: 700,
  letterSpacing: "0.06em",
  textTransform: "uppercase",
  color: colors.muted,
};

export const h1: CSSProperties = {
  margin: "0 0 24px",
  fontSize: "26px",
  lineHeight: "34px",
  fontWeight: 700,
  color: colors.text,
};

export const h2: CSSProperties = {
  margin: "32px 0 8px",
  fontSize: "19px",
  lineHeight: "27px",
  fontWeight: 700,
  color: colors.text,
};

export const paragraph: CSSProperties = {
  margin: "0 0 16px",
  fontSize: "16px",
  lineHeight: "26px",
  color: colors.text,
};

export const list: CSSProperties = {
  margin: "0 0 16px",
  padding: "0 0 0 22px",
  fontSize: "16px",
  lineHeight: "26px",
  color: colors.text,
};

export const listItem: CSSProperties = {
  margin: "0 0 8px",
};

export const link: CSSProperties = {
  color: colors.accent,
  textDecorationLine: "underline",
};

/** For URLs written out in full: long tokens must wrap instead of widening the email at 320px. */
export const writtenOutUrl: CSSProperties = {
  ...link,
  wordBreak: "break-all",
  overflowWrap: "anywhere",
};

export const button: CSSProperties = {
  backgroundColor: colors.accent,
  color: colors.accentText,
  borderRadius: "6px",
  fontSize: "17px",
  fontWeight: 700,
  textAlign: "center",
  padding: "14px 24px",
};

export const callout: CSSProperties = {
  backgroundColor: colors.calloutBg,
  borderLeft: `4px solid ${colors.accent}`,
  borderRadius: "4px",
  padding: "16px 18px 4px",
  margin: "8px 0 20px",
};

export const calloutTitle: CSSProperties = {
  margin: "0 0 6px",
  fontSize: "15px",
  lineHeight: "22px",
  fontWeight: 700,
  color: colors.text,
};

export const calloutText: CSSProperties = {
  ...paragraph,
  fontSize: "15px",
  lineHeight: "24px",
  margin: "0 0 12px",
};

export const hr: CSSProperties = {
  border: "none",
  borderTop: `1px solid ${colors.rule}`,
  margin: "28px 0",
};

export const footer: CSSProperties = {
  padding: "24px 12px 8px",
};

export const footerText: CSSProperties = {
  margin: "0 0 12px",
  fontSize: "13px",
  lineHeight: "20px",
  color: colors.muted,
};

export const footerLink: CSSProperties = {
  color: colors.muted,
  textDecorationLine: "underline",
};

/**
 * Class names used by the <style> block in the layout. Inline styles stay the source of truth;
 * these only let supporting clients switch to a dark palette and tighter padding on phones.
 */
export const cls = {
  body: "cs-body",
  page: "cs-page",
  pageCell: "cs-page-cell",
  card: "cs-card",
  cardCell: "cs-card-cell",
  text: "cs-text",
  muted: "cs-muted",
  brand: "cs-brand",
  link: "cs-link",
  mutedLink: "cs-muted-link",
  button: "cs-button",
  callout: "cs-callout",
  hr: "cs-hr",
} as const;

export const responsiveCss = `
:root { color-scheme: light dark; supported-color-schemes: light dark; }
@media (prefers-color-scheme: dark) {
  body, .cs-body, .cs-page, .cs-page-cell { background-color: #121815 !important; }
  .cs-card { background-color: #1c2521 !important; }
  .cs-text { color: #e9eeeb !important; }
  .cs-muted, .cs-muted-link { color: #b9c4be !important; }
  .cs-brand, .cs-link { color: #8fd1b0 !important; }
  .cs-button { background-color: #8fd1b0 !important; color: #0d1712 !important; }
  .cs-callout { background-color: #253530 !important; border-color: #8fd1b0 !important; }
  .cs-hr { border-color: #3a4742 !important; }
}
@media only screen and (max-width: 480px) {
  .cs-page-cell { padding: 12px 6px !important; }
  .cs-card-cell { padding: 24px 18px !important; }
}
`;
