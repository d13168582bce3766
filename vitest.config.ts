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
    // Integration tests bind real ports and spawn processes: run files in forks, a few at a time. The files
    // mostly wait (with two at a time the two cores were about half idle), so three run at once: CI took 854
    // and 887 s against 1,140 s with two, both green. Four were tried (the suite 355 s against 560 s), but
    // under that load a fork once took over vitest's fixed 60 s to start and the run failed.
    pool: 'forks',
    // Compiles src to dist first when a source is newer (the children the tests start run dist/cli.js), and
    // removes the port claims of the run's test files (test/helpers/free-port.ts) when it ends.
    globalSetup: ['test/helpers/built-cli.ts', 'test/helpers/port-claims.ts'],
    maxWorkers: serial ? 1 : 3,
    reporters: ['default'],
  },
});
