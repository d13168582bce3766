// The `veer` CLI as a child process, as users and CI run it: from source through tsx (what the tests
// of API clients use) or the built dist/cli.js (`npm run build` first). Bounded: a child that
// outlives `timeoutMs` is killed (by execFile, which knows its pid) and reported with code null.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

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
