/** `cloudflare:workers` for the Worker bundled into bench/edge-run.ts: its bindings are the environment's, as edge-run passes them. */
export const env: Record<string, unknown> = { ...process.env };
