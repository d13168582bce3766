import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real ports and spawn processes: run files in forks, a few at a time,
    // so two cores are not oversubscribed into flaky timing.
    pool: 'forks',
    maxWorkers: 2,
    reporters: ['default'],
  },
});
