#!/usr/bin/env node
// The `veer` executable.
import { runCli } from './cli/main.js';

const io = {
  out: (line: string) => void process.stdout.write(`${line}\n`),
  err: (line: string) => void process.stderr.write(`${line}\n`),
  env: process.env,
};

runCli(process.argv.slice(2), io).then(
  // Exit explicitly: `start` may leave handles (timers, sockets) that a clean close() did not own.
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`error: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
