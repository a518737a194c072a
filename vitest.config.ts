import { defineConfig } from 'vitest/config';

/**
 * The one test command (`npm test`): offline layers and `*.int.test.ts` against Temporal's real dev server, which the
 * global setup starts once for the run (see test/support/global-setup.ts).
 */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['node_modules/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time even on 2 cores: the 3,000-turn integration test waits on the server most of its time,
    // so the rest of the suite runs beside it.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
