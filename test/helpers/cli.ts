// The `veer` CLI as a child process, as users and CI run it: from source through tsx (what the tests
// of API clients use) or the built dist/cli.js (`npm run build` first). Bounded: a child that
// outlives `timeoutMs` is killed (by execFile, which knows its pid) and reported with code null.
import { execFile, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exited, spawnTracked } from './process.js';

export const ROOT = new URL('../../', import.meta.url).pathname;
export const BUILT_CLI = join(ROOT, 'dist/cli.js');

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  /** 'src' (default): src/cli.ts through tsx; 'dist': the built CLI. */
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
 * Starts the CLI from source without waiting for it (tracked by pid; killTracked ends it). `wrap`
 * turns the command line into another one, e.g. to run it under a pseudo-terminal.
 */
export function spawnVeer(
  args: readonly string[],
  opts: CliOptions & { wrap?: (argv: string[]) => string[] } = {},
): CliChild {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  const argv = [process.execPath, '--import', 'tsx', 'src/cli.ts', ...args];
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
  if (opts.entry === 'dist' && !existsSync(BUILT_CLI)) throw new Error(`${BUILT_CLI} is missing: run npm run build`);
  const entry = opts.entry === 'dist' ? [BUILT_CLI] : ['--import', 'tsx', 'src/cli.ts'];
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
