/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { DISCLAIMER } from "../course/meta";
import { senderParts } from "../lib/sender";

export interface SiteInfo {
  brandName: string;
  postalAddress: string;
  /** APP_URL, for absolute URLs in meta tags. */
  appUrl?: string;
}

export { DISCLAIMER };

/** What search results and link previews show for a page (meta description, Open Graph). */
export interface PageSummary {
  description: string;
  /** Absolute URL of the page (og:url); APP_URL-based. */
  url: string;
}

/**
 * Every server-rendered page. Starts with `<!DOCTYPE html>`: without it browsers render in quirks
 * mode (`document.compatMode === "BackCompat"`), where box sizes and table layout differ.
 */
export function Layout(props: { title: string; site: SiteInfo; children: Child; scripts?: string[]; summary?: PageSummary }) {
  const title = `${props.title} · ${props.site.brandName}`;
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <title>{title}</title>
          {props.summary && <SummaryMeta title={title} site={props.site} summary={props.summary} />}
          <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
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
            <p>{senderParts(props.site.brandName, props.site.postalAddress).join(" · ")}</p>
          </footer>
          {(props.scripts ?? []).map((src) => (
            <script src={src} defer />
          ))}
        </body>
      </html>
    </>
  );
}

/**
 * Meta description and Open Graph tags (https://ogp.me/). No og:image: we have no raster artwork,
 * and link previews skip SVG images; previews then show the title and description.
 */
function SummaryMeta(props: { title: string; site: SiteInfo; summary: PageSummary }) {
  return (
    <>
      <meta name="description" content={props.summary.description} />
      <meta property="og:type" content="website" />
      <meta property="og:title" content={props.title} />
      <meta property="og:description" content={props.summary.description} />
      <meta property="og:url" content={props.summary.url} />
      <meta property="og:site_name" content={props.site.brandName} />
    </>
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
