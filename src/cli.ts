#!/usr/bin/env node
// The `veer` executable.
import type { Terminal } from './cli/command.js';
import { internalError, runCli } from './cli/main.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

const terminal: Terminal = {
  isTTY: process.stdout.isTTY === true,
  columns: () => (process.stdout.isTTY ? process.stdout.columns : undefined),
  rows: () => (process.stdout.isTTY ? process.stdout.rows : undefined),
  write: (text) => void process.stdout.write(text),
  onResize(fn) {
    process.stdout.on('resize', fn);
    return () => void process.stdout.off('resize', fn);
  },
  onInterrupt(fn) {
    for (const s of STOP_SIGNALS) process.on(s, fn);
    // A reader that went away (`veer status --watch | head`) ends the view like Ctrl+C, not with a stack trace.
    process.stdout.on('error', fn);
    return () => {
      STOP_SIGNALS.forEach((s) => process.off(s, fn));
      process.stdout.off('error', fn);
    };
  },
};

const io = {
  out: (line: string) => void process.stdout.write(`${line}\n`),
  err: (line: string) => void process.stderr.write(`${line}\n`),
  env: process.env,
  terminal,
  // A rewritten status line is for a person watching; in a pipe or a CI log it would be noise.
  ...(process.stderr.isTTY ? { progress: (text: string) => void process.stderr.write(`\r\x1b[K${text}`) } : {}),
};

runCli(process.argv.slice(2), io).then(
  // Exit explicitly: `start` may leave handles (timers, sockets) that a clean close() did not own.
  (code) => process.exit(code),
  // runCli catches what its commands throw; this is the last resort, and says as little.
  (e: unknown) => {
    process.stderr.write(`${internalError(e)}\n`);
    process.exit(1);
  },
);
