/**
 * Static assets for our pages, served from /assets so the Content-Security-Policy can forbid every
 * inline script and style.
 */

export const SITE_CSS = `
:root {
  color-scheme: light dark;
  --bg: #fbf8f4; --surface: #ffffff; --text: #1f2a24; --muted: #4f5d55; --accent: #2f6b4f;
  --accent-text: #ffffff; --border: #d9d3c9; --error: #a4262c; --focus: #1a5fb4; --notice: #eef5f0;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.6;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #141a17; --surface: #1d2520; --text: #edf2ee; --muted: #b5c2ba; --accent: #7cc4a0;
    --accent-text: #0d1a13; --border: #34423a; --error: #ff9a9f; --focus: #8ab4f8; --notice: #1f2e26; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font-size: 1.0625rem; }
a { color: var(--accent); text-underline-offset: 0.15em; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.skip { position: absolute; left: -999px; top: 0; }
.skip:focus { left: 1rem; top: 1rem; background: var(--surface); padding: 0.5rem 1rem; z-index: 1; }
header.site, footer.site { padding: 1rem 1.25rem; }
header.site a { color: var(--text); font-weight: 700; text-decoration: none; }
footer.site { color: var(--muted); font-size: 0.875rem; border-top: 1px solid var(--border); margin-top: 3rem; }
main { max-width: 42rem; margin: 0 auto; padding: 0 1.25rem; }
h1 { font-size: clamp(1.9rem, 6vw, 2.6rem); line-height: 1.15; margin: 1.5rem 0 0.75rem; }
h2 { font-size: 1.35rem; margin-top: 2.25rem; }
.lead { font-size: 1.2rem; color: var(--muted); }
.flush { margin-top: 0; }
.card { background: var(--surface); border: 1px solid var(--border); border-radius: 12px; padding: 1.25rem; margin: 1.5rem 0; }
.notice { background: var(--notice); border-left: 4px solid var(--accent); padding: 0.75rem 1rem; border-radius: 6px; }
form .field { margin-bottom: 1rem; }
label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
.hint { color: var(--muted); font-size: 0.9rem; margin: 0.25rem 0 0; }
input[type=email], input[type=text], textarea { width: 100%; font: inherit; padding: 0.7rem 0.8rem; border: 2px solid var(--border);
  border-radius: 8px; background: var(--bg); color: var(--text); }
input[aria-invalid=true] { border-color: var(--error); }
fieldset.choices { border: 0; padding: 0; margin: 0 0 1rem; min-width: 0; }
fieldset.choices legend { font-weight: 600; margin-bottom: 0.25rem; padding: 0; }
label.choice { font-weight: 400; display: flex; gap: 0.5rem; align-items: center; padding: 0.3rem 0; }
label.choice input { width: 1.15rem; height: 1.15rem; margin: 0; accent-color: var(--accent); }
.error { color: var(--error); font-weight: 600; }
button, .button { display: inline-block; font: inherit; font-weight: 700; padding: 0.75rem 1.25rem; border-radius: 8px;
  border: 2px solid var(--accent); background: var(--accent); color: var(--accent-text); cursor: pointer; text-decoration: none; }
button.secondary, .button.secondary { background: transparent; color: var(--accent); }
button.danger, .button.danger { background: transparent; color: var(--error); border-color: var(--error); }
dl.facts { margin: 1rem 0 0; }
dl.facts dt { font-weight: 600; }
dl.facts dd { margin: 0 0 0.5rem; }
@media (min-width: 36rem) {
  dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 1rem; }
  dl.facts dd { margin: 0; }
}
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; align-items: center; }
.actions form { margin: 0; }
ol.lessons { padding-left: 1.25rem; }
ol.lessons li { margin-bottom: 0.75rem; }
ol.lessons strong { display: block; }
.disclaimer { color: var(--muted); font-size: 0.9rem; }
.hp { position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden; }
progress { width: 100%; height: 0.75rem; accent-color: var(--accent); }
.outbox td, .outbox th { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
.outbox table { width: 100%; border-collapse: collapse; font-size: 0.95rem; }
.outbox iframe { width: 100%; min-height: 70vh; border: 1px solid var(--border); border-radius: 8px; background: #fff; }
blockquote.comment { margin: 0 0 1rem; padding: 0.5rem 1rem; border-left: 4px solid var(--border); white-space: pre-wrap; overflow-wrap: anywhere; }
pre.text { white-space: pre-wrap; background: var(--surface); border: 1px solid var(--border); padding: 1rem; border-radius: 8px; }
`;

/** Fills the hidden time-zone field so lessons arrive at a sensible local hour. Optional: without it, UTC. */
export const TIMEZONE_JS = `
(function () {
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var fields = document.querySelectorAll('input[name="timeZone"]');
    for (var i = 0; i < fields.length; i++) if (!fields[i].value) fields[i].value = zone || "";
  } catch (e) {}
})();
`;

/**
 * The feedback page (src/pages/feedback.tsx): once the page has loaded, POSTs the answer its link
 * names, so one click in the email is enough, while a link scanner's GET records nothing. Without
 * scripts (or if this fails) the page's "Save my answer" button sends the same form.
 */
export const FEEDBACK_JS = `
(function () {
  var form = document.getElementById("vote-form");
  var status = document.getElementById("vote-status");
  if (!form || !status || !window.fetch || !window.URLSearchParams) return;
  var body = new URLSearchParams();
  var fields = form.querySelectorAll("input[type=hidden]");
  for (var i = 0; i < fields.length; i++) body.append(fields[i].name, fields[i].value);
  fetch(form.action, {
    method: "POST",
    headers: { "accept": "application/json", "content-type": "application/x-www-form-urlencoded" },
    body: body.toString(),
    credentials: "same-origin"
  }).then(function (response) {
    if (!response.ok) throw new Error(String(response.status));
    form.hidden = true;
    status.textContent = "Your answer is saved. Thank you!";
  }).catch(function () {
    status.textContent = "We couldn't save your answer automatically. Please press Save my answer.";
  });
})();
`;

/** The site icon: a leaf on the brand green, readable at 16 px. Served at /favicon.svg. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="7" fill="#2f6b4f"/>
<path d="M8 24c0-9 6-15 17-16-1 11-7 17-16 17l-1-1z" fill="#fbf8f4"/>
<path d="M9 23c3-5 7-9 12-11" stroke="#2f6b4f" stroke-width="1.6" fill="none" stroke-linecap="round"/>
</svg>
`;
