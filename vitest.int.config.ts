import { defineConfig } from 'vitest/config';

/** Integration suite (`npm run test:integration`): needs TEMPORAL_ADDRESS or TEMPORAL_CLI_PATH. */
export default defineConfig({
  test: {
    include: ['test/**/*.int.test.ts'],
    testTimeout: 600_000,
    hookTimeout: 300_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
