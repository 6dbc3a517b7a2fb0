import { startFakeResend } from "./fake-resend";

/**
 * The fake Resend server as its own process (for benchmarks and `npm run dev:worker`), so its
 * CPU is not counted against ours. Prints its URL on the first line; `--record` keeps emails;
 * FAKE_RESEND_LATENCY_MS delays each answer.
 */
const fake = await startFakeResend({
  record: process.argv.includes("--record"),
  port: Number(process.env.PORT ?? 0),
  latencyMs: Number(process.env.FAKE_RESEND_LATENCY_MS ?? 0),
});
console.log(fake.url);
process.on("SIGTERM", () => void fake.close().then(() => process.exit(0)));
process.on("SIGINT", () => void fake.close().then(() => process.exit(0)));
