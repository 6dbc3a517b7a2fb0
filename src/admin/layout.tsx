/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { raw } from "hono/html";
import { FORM_TOKEN_FIELD } from "../lib/form-token";

/** A console time: UTC to the minute ("2026-03-02 12:00 UTC"), or a dash for none. */
export const when = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString().replace("T", " ").slice(0, 16) + " UTC" : "—");

/**
 * The console's page frame: our own stylesheets and scripts only (the CSP forbids inline ones),
 * a header with the sections and sign-out, and the operator's address (operators' own data).
 */
export function ConsolePage(props: { title: string; brandName: string; operator?: { email: string; csrf: string }; children: Child; scripts?: string[] }) {
  return (
    <>
      {raw("<!DOCTYPE html>")}
      <html lang="en">
        <head>
          <meta charset="utf-8" />
          <meta name="viewport" content="width=device-width, initial-scale=1" />
          <meta name="color-scheme" content="light dark" />
          <meta name="robots" content="noindex" />
          <title>{`${props.title} · Console · ${props.brandName}`}</title>
          <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
          <link rel="stylesheet" href="/assets/site.css" />
          <link rel="stylesheet" href="/admin/assets/console.css" />
        </head>
        <body class="console">
          <a class="skip" href="#main">
            Skip to content
          </a>
          <header class="site console-bar">
            <a href="/admin">{props.brandName} console</a>
            {props.operator && (
              <nav aria-label="Console">
                <a href="/admin">Dashboard</a>
                <a href="/admin/subscribers">Subscribers</a>
                <a href="/admin/imports/new">Import</a>
                <a href="/admin/mail">Failed mail</a>
                <a href="/admin/keys">API keys</a>
                <a href="/admin/webhooks">Webhooks</a>
                <form method="post" action="/admin/logout">
                  <input type="hidden" name={FORM_TOKEN_FIELD} value={props.operator.csrf} />
                  <button type="submit" class="secondary small">
                    Sign out
                  </button>
                </form>
              </nav>
            )}
          </header>
          <main id="main">
            <h1>{props.title}</h1>
            {props.children}
          </main>
          {(props.scripts ?? []).map((src) => (
            <script src={src} defer />
          ))}
        </body>
      </html>
    </>
  );
}

/**
 * A wide table scrolls inside its own box on a phone instead of the page scrolling sideways; the
 * box is focusable and named so keyboard users can scroll it too (axe: scrollable-region-focusable).
 */
export function Scroll(props: { label: string; children: Child }) {
  return (
    <div class="table-wrap" tabindex={0} role="region" aria-label={props.label}>
      {props.children}
    </div>
  );
}

/** The hidden CSRF field every console form carries. */
export function Csrf(props: { token: string }) {
  return <input type="hidden" name={FORM_TOKEN_FIELD} value={props.token} />;
}

export const CONSOLE_CSS = `
body.console main { max-width: 64rem; }
.console-bar { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; justify-content: space-between; border-bottom: 1px solid var(--border); }
.console-bar nav { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; }
.console-bar nav form { margin: 0; }
button.small { padding: 0.3rem 0.8rem; font-size: 0.95rem; }
.table-wrap { overflow-x: auto; max-width: 100%; }
dl.facts dd { overflow-wrap: anywhere; }
table.data { width: 100%; border-collapse: collapse; font-size: 0.95rem; margin: 0.5rem 0 1rem; }
table.data th, table.data td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
table.data td.num, table.data th.num { text-align: right; font-variant-numeric: tabular-nums; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 0.75rem; margin: 1rem 0; padding: 0; list-style: none; }
.stats li { background: var(--surface); border: 1px solid var(--border); border-radius: 10px; padding: 0.75rem; }
.stats strong { display: block; font-size: 1.6rem; }
figure.chart { margin: 1rem 0 1.5rem; }
figure.chart svg { width: 100%; height: auto; max-height: 20rem; }
figure.chart figcaption { color: var(--muted); font-size: 0.95rem; }
.chart-axis { stroke: var(--border); }
.chart-label { fill: var(--muted); font-size: 11px; }
.bar-a { fill: var(--accent); }
.bar-b { fill: #b86e00; }
.bar-c { fill: #1a5fb4; }
.bar-d { fill: #6d3fa0; }
.bar-e { fill: #a4262c; }
.legend { display: flex; flex-wrap: wrap; gap: 1rem; padding: 0; margin: 0.25rem 0; list-style: none; font-size: 0.95rem; }
.legend svg { width: 0.9rem; height: 0.9rem; vertical-align: -0.1rem; margin-right: 0.3rem; }
details.alt summary { cursor: pointer; color: var(--accent); }
ol.timeline { padding-left: 1.25rem; }
ol.timeline time { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 0.5rem; }
select, input[type=search], input[type=file], textarea { font: inherit; padding: 0.5rem; border: 2px solid var(--border); border-radius: 8px; background: var(--bg); color: var(--text); max-width: 100%; }
textarea { width: 100%; }
`;
