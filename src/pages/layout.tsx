/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";

export interface SiteInfo {
  brandName: string;
  postalAddress: string;
}

export const DISCLAIMER =
  "This course is educational and is not medical advice. Talk to your doctor or dermatologist before changing a treatment or starting a supplement, and don't stop a prescribed medication on your own.";

export function Layout(props: { title: string; site: SiteInfo; children: Child; scripts?: string[] }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="referrer" content="no-referrer" />
        <title>{`${props.title} · ${props.site.brandName}`}</title>
        <link rel="stylesheet" href="/assets/site.css" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header class="site">
          <a href="/">{props.site.brandName}</a>
        </header>
        <main id="main">{props.children}</main>
        <footer class="site">
          <p class="disclaimer">{DISCLAIMER}</p>
          <p>
            {props.site.brandName} · {props.site.postalAddress}
          </p>
        </footer>
        {(props.scripts ?? []).map((src) => (
          <script src={src} defer />
        ))}
      </body>
    </html>
  );
}

/** A short page with a heading and a message: "check your inbox", "you're confirmed", errors. */
export function MessagePage(props: { title: string; site: SiteInfo; children: Child }) {
  return (
    <Layout title={props.title} site={props.site}>
      <h1>{props.title}</h1>
      {props.children}
    </Layout>
  );
}
