#!/usr/bin/env node
// The `veer` executable.
import { runCli } from './cli/main.js';
import { errorMessage } from './domain/errors.js';

const io = {
  out: (line: string) => void process.stdout.write(`${line}\n`),
  err: (line: string) => void process.stderr.write(`${line}\n`),
  env: process.env,
};

runCli(process.argv.slice(2), io).then(
  // Exit explicitly: `start` may leave handles (timers, sockets) that a clean close() did not own.
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
