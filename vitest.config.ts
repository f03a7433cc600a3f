import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // A native crash must not take the runner down.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
