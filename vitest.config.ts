import { defineConfig } from 'vitest/config';

// test/serial/ holds tests that disturb what every other test shares (they restart the Docker
// engine): they run alone, after the rest, with VEER_SERIAL=1 (scripts/test.sh does both runs).
const serial = process.env.VEER_SERIAL === '1';

export default defineConfig({
  test: {
    include: serial ? ['test/serial/**/*.test.ts'] : ['test/**/*.test.ts'],
    exclude: serial ? [] : ['test/serial/**', 'node_modules/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real ports and spawn processes: run files in forks, a few at a time. Four
    // on two cores: most of a file's time is spent waiting (leases, rollout steps, Docker, Redis), so the
    // suite took 355 s with four against 560 s with two, its test time (the sum over files) barely grown
    // (1,212 s against 1,010 s).
    pool: 'forks',
    // Removes the port claims of the run's test files (test/helpers/free-port.ts) when it ends.
    globalSetup: ['test/helpers/port-claims.ts'],
    maxWorkers: serial ? 1 : 4,
    reporters: ['default'],
  },
});
