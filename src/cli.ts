#!/usr/bin/env node
// The `veer` executable.
import { runCli } from './cli/main.js';
import { errorMessage } from './domain/errors.js';

const io = {
  out: (line: string) => void process.stdout.write(`${line}\n`),
  err: (line: string) => void process.stderr.write(`${line}\n`),
  env: process.env,
  // A rewritten status line is for a person watching; in a pipe or a CI log it would be noise.
  ...(process.stderr.isTTY ? { progress: (text: string) => void process.stderr.write(`\r\x1b[K${text}`) } : {}),
};

runCli(process.argv.slice(2), io).then(
  // Exit explicitly: `start` may leave handles (timers, sockets) that a clean close() did not own.
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
