// The `veer` executable's process: its terminal, its output streams and its exit (src/cli.ts loads this
// once Node's compile cache is on).
import type { Terminal } from './command.js';
import { internalError, runCli } from './main.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/**
 * A reader that went away (`veer status | head -1`, a closed CI log) makes writes fail with EPIPE, an
 * 'error' event that would otherwise crash the CLI with a stack trace and exit 1. Nobody reads the rest,
 * so it is dropped, and the command runs to its end: the exit code stays its own (`veer rollout --wait |
 * head -1` under `set -o pipefail` still says whether the rollout succeeded).
 */
const gone = { stdout: false, stderr: false };
for (const name of ['stdout', 'stderr'] as const) process[name].on('error', () => void (gone[name] = true));
const write = (name: 'stdout' | 'stderr', text: string): void => void (gone[name] || process[name].write(text));

const terminal: Terminal = {
  isTTY: process.stdout.isTTY === true,
  columns: () => (process.stdout.isTTY ? process.stdout.columns : undefined),
  rows: () => (process.stdout.isTTY ? process.stdout.rows : undefined),
  write: (text) => write('stdout', text),
  onResize(fn) {
    process.stdout.on('resize', fn);
    return () => void process.stdout.off('resize', fn);
  },
  onInterrupt(fn) {
    for (const s of STOP_SIGNALS) process.on(s, fn);
    // A reader that went away (`veer status --watch | head`) ends the view like Ctrl+C (exit 0).
    process.stdout.on('error', fn);
    return () => {
      STOP_SIGNALS.forEach((s) => process.off(s, fn));
      process.stdout.off('error', fn);
    };
  },
};

const io = {
  out: (line: string) => write('stdout', `${line}\n`),
  err: (line: string) => write('stderr', `${line}\n`),
  env: process.env,
  terminal,
  // A rewritten status line is for a person watching; in a pipe or a CI log it would be noise.
  ...(process.stderr.isTTY ? { progress: (text: string) => write('stderr', `\r\x1b[K${text}`) } : {}),
};

runCli(process.argv.slice(2), io).then(
  // Exit explicitly: `start` may leave handles (timers, sockets) that a clean close() did not own.
  (code) => process.exit(code),
  // runCli catches what its commands throw; this is the last resort, and says as little.
  (e: unknown) => {
    write('stderr', `${internalError(e)}\n`);
    process.exit(1);
  },
);
