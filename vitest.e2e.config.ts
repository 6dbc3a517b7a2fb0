import { defineConfig } from "vitest/config";

// `npm run test:e2e`: real Chromium (Debian's /usr/bin/chromium, or CHROMIUM_PATH) against real servers.
export default defineConfig({
  test: {
    include: ["tests/e2e/**/*.test.{ts,tsx}"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
