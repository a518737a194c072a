import { defineConfig } from 'vitest/config';

/** Offline suite (`npm test`): everything except tests that need a live Temporal server. */
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/**/*.int.test.ts', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
