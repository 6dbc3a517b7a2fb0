import { defineConfig } from "vitest/config";

// `npm run test:worker`: src/worker.ts in real workerd (wrangler's unstable_startWorker) against a
// real sqld and a fake Resend server on loopback. Slow to start, so it has its own config.
export default defineConfig({
  test: {
    include: ["tests/worker/**/*.test.ts"],
    hookTimeout: 120_000,
    testTimeout: 60_000,
    // Each file starts its own workerd and sqld; one at a time keeps ports and CPU predictable.
    fileParallelism: false,
  },
});
