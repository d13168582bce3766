// The `veer` CLI as a child process, as users and CI run it: the built dist/cli.js (the default, compiled before
// the run when src is newer: cli-entry.ts) or from source through tsx (`entry: 'src'`, for a loader of the
// user's own). Bounded: a child that outlives `timeoutMs` is killed (by execFile, which knows its pid) and
// reported with code null.
import { execFile, type ChildProcess } from 'node:child_process';
import { BUILT_CLI, CLI_ENTRY, SOURCE_CLI } from './cli-entry.js';
import { exited, spawnTracked } from './process.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export { BUILT_CLI };

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  /** 'dist': the built CLI; 'src': src/cli.ts through tsx; default: CLI_ENTRY (dist unless VEER_TEST_CLI=src). */
  entry?: 'src' | 'dist';
  /** Added to the environment; the caller's VEER_* variables are never inherited. */
  env?: Record<string, string>;
  /** Default 25 s. */
  timeoutMs?: number;
}

/** A CLI child that keeps running (`status --watch`): its output so far, and its exit. */
export interface CliChild {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code (null: killed by a signal). */
  exit: Promise<number | null>;
}

/**
 * Starts the CLI without waiting for it (tracked by pid; killTracked ends it). `wrap`
 * turns the command line into another one, e.g. to run it under a pseudo-terminal.
 */
export function spawnVeer(
  args: readonly string[],
  opts: CliOptions & { wrap?: (argv: string[]) => string[] } = {},
): CliChild {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  const argv = [process.execPath, ...CLI_ENTRY, ...args];
  const [cmd, ...rest] = opts.wrap ? opts.wrap(argv) : argv;
  const child = spawnTracked(cmd as string, rest, {
    cwd: ROOT,
    env: { ...base, ...opts.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  return { child, stdout: () => out, stderr: () => err, exit: exited(child).then(() => child.exitCode) };
}

export function runVeer(args: readonly string[], opts: CliOptions = {}): Promise<CliRun> {
  const entry = opts.entry === undefined ? CLI_ENTRY : opts.entry === 'dist' ? [BUILT_CLI] : SOURCE_CLI;
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  const started = Date.now();
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...entry, ...args],
      { cwd: ROOT, env: { ...base, ...opts.env }, timeout: opts.timeoutMs ?? 25_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === 'number' ? error.code : null) : 0,
          stdout,
          stderr,
          ms: Date.now() - started,
        }),
    );
  });
}
