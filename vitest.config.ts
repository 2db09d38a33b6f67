import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./scripts/compatibility-reporter.ts", "./scripts/plain-summary-reporter.ts"],
    // Stopping the e2e engine gives running containers dockerd's 10 s to exit.
    teardownTimeout: 120_000,
    projects: [
      {
        test: {
          name: "unit",
          include: ["lib/**/*.test.ts", "bin/**/*.test.ts", "scripts/**/*.test.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["e2e/**/*.test.ts"],
          globalSetup: ["e2e/setup/global.ts"],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // One engine is shared by the suites; they run one file at a time.
          fileParallelism: false,
          // Two shared cores under a whole run's load: a test that fails once is run again, and the
          // summary names every test that needed it.
          retry: 1,
        },
      },
    ],
  },
});
