import { defineConfig } from 'vitest/config';

// test/serial/ holds tests that disturb what every other test shares (they restart the Docker
// engine): they run alone, after the rest, with VEER_SERIAL=1 (scripts/test.sh does both runs).
const serial = process.env.VEER_SERIAL === '1';
// Files that measure what V8 makes of veer's code (allocation on a hot path): in a process other files ran in
// first, their calls have already shaped the JIT's view of the same functions, so these get a process each.
const ownProcess = ['test/unit/metrics/window.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real ports and spawn processes: run files in forks, a few at a time. The files
    // mostly wait (with two at a time the two cores were about half idle): three ran at once from 2026-12-03.
    // Each fork runs file after file (isolate: false) instead of a new process per file, which imported src and
    // its packages again for each of the 304 files (~0.9 s each, 284 s summed in CI): tests leave no globals
    // behind (the few that set process.env or process hooks restore them). Measured on the whole local suite:
    // 595 s isolated with three, 492 s shared with three, 427-438 s shared with four (the cores 12% idle). Four
    // isolated once took a fork past vitest's start bound under CI's load; shared forks start once per run.
    // VEER_TEST_WORKERS sets another count.
    pool: 'forks',
    // Compiles src to dist first when a source is newer (the children the tests start run dist/cli.js), and
    // removes the port claims of the run's test files (test/helpers/free-port.ts) when it ends.
    globalSetup: ['test/helpers/built-cli.ts', 'test/helpers/port-claims.ts'],
    maxWorkers: serial ? 1 : Number(process.env.VEER_TEST_WORKERS ?? 4),
    reporters: ['default'],
    ...(serial
      ? { include: ['test/serial/**/*.test.ts'] }
      : {
          projects: [
            {
              extends: true,
              test: {
                name: 'shared',
                include: ['test/**/*.test.ts'],
                exclude: ['test/serial/**', 'node_modules/**', ...ownProcess],
                isolate: false,
              },
            },
            { extends: true, test: { name: 'own', include: ownProcess, isolate: true } },
          ],
        }),
  },
});
