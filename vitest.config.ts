import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Real sockets and child processes: keep parallelism modest on 2-core machines.
    pool: "forks",
    maxWorkers: 2,
    fileParallelism: true,
    // No retries: a flaky test is a bug.
    retry: 0,
    // vitest's summary, then one plain "N passed, N failed" line for CI.
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
  },
});
