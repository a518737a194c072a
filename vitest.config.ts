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
  },
});
