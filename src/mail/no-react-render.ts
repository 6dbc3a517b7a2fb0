/**
 * Stands in for `@react-email/render` in the Worker bundle (`[alias]` in wrangler.toml).
 * The Resend SDK imports that renderer for its optional `react` field, which we never pass: emails
 * are compiled at build time (`npm run build:emails`), so the renderer, react-dom and prettier would
 * be dead weight (about 1 MB raw) in every cold isolate.
 */
export function render(): never {
  throw new Error("React rendering is not part of the Worker: emails are compiled at build time (npm run build:emails)");
}
