/**
 * The one export of workerd's `cloudflare:workers` module we use: the Worker's bindings, readable
 * in global scope too (https://developers.cloudflare.com/changelog/2025-03-17-importable-env).
 * Declared here rather than through @cloudflare/workers-types, whose globals clash with Node's
 * and the DOM's. bench:edge bundles a stand-in (bench/cloudflare-workers-env.ts).
 */
declare module "cloudflare:workers" {
  export const env: Record<string, unknown>;
}
