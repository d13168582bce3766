// Process helpers for integration tests: free ports, bounded polling, and child processes that are
// tracked by pid so a test file's afterAll kills exactly what it started and nothing else.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { withTimeout as bounded } from '../../src/domain/async.js';

export { freePort } from './free-port.js';

export interface WaitOptions {
  /** Default 10 s. */
  timeoutMs?: number;
  /** Pause between two calls; default 50 ms. */
  intervalMs?: number;
  /** Named in the timeout error, e.g. "redis PING". */
  what?: string;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Rejects with "timed out after N ms waiting for <what>" if `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return bounded(p, ms, `waiting for ${what}`);
}

/**
 * The tests' one polling helper. Polls `fn` until it returns a truthy value, which is returned. A
 * throw counts as "not yet" (the last error is quoted on timeout), so probes can simply attempt the
 * real operation. Each call of `fn` is itself bounded by the remaining time, so a hung probe cannot
 * outlast the timeout either.
 *
 * The positional form `waitFor(fn, what, timeoutMs = 5_000, intervalMs = 10)` is kept for the tests
 * that still call it that way (it was helpers/veer.ts's own copy); new code passes WaitOptions.
 */
export function waitFor<T>(fn: () => T | Promise<T>, opts?: WaitOptions): Promise<NonNullable<T>>;
export function waitFor<T>(
  fn: () => T | Promise<T>,
  what: string,
  timeoutMs?: number,
  intervalMs?: number,
): Promise<NonNullable<T>>;
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  optsOrWhat: WaitOptions | string = {},
  positionalTimeoutMs = 5_000,
  positionalIntervalMs = 10,
): Promise<NonNullable<T>> {
  const opts: WaitOptions =
    typeof optsOrWhat === 'string'
      ? { what: optsOrWhat, timeoutMs: positionalTimeoutMs, intervalMs: positionalIntervalMs }
      : optsOrWhat;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const what = opts.what ?? 'condition';
  const deadline = Date.now() + timeoutMs;
  const maxAttempts = Math.ceil(timeoutMs / Math.max(1, intervalMs)) + 1;
  let lastError: unknown;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    try {
      const value = await withTimeout(Promise.resolve().then(fn), Math.max(1, deadline - Date.now()), what);
      if (value) return value as NonNullable<T>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() + intervalMs > deadline) break;
    await sleep(intervalMs);
  }
  const why = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
}

const tracked = new Map<number, ChildProcess>();

/** Spawns a child and records its pid for killTracked(). Throws if the spawn itself fails. */
export function spawnTracked(cmd: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  // A failed spawn (ENOENT) also emits 'error' later; without a listener that would crash the worker.
  child.on('error', () => undefined);
  if (child.pid === undefined) throw new Error(`could not spawn ${cmd} (is it installed and on PATH?)`);
  const pid = child.pid;
  tracked.set(pid, child);
  child.once('exit', () => tracked.delete(pid));
  // Unread pipes fill up and stall the child; callers that care attach their own listeners too.
  child.stdout?.resume();
  child.stderr?.resume();
  return child;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves once the child has exited (immediately if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when the child is gone, rejects if even that fails. */
export async function stopChild(child: ChildProcess, graceMs = 3_000): Promise<void> {
  if (hasExited(child)) return;
  const gone = exited(child);
  child.kill('SIGTERM');
  try {
    await withTimeout(gone, graceMs, 'exit after SIGTERM');
    return;
  } catch {
    child.kill('SIGKILL');
  }
  await withTimeout(gone, graceMs, `pid ${child.pid} to exit after SIGKILL`);
}

/** Kills exactly the children spawnTracked() started and that are still running. */
export async function killTracked(graceMs = 3_000): Promise<void> {
  const children = [...tracked.values()];
  await Promise.allSettled(children.map((c) => stopChild(c, graceMs)));
  for (const c of children) if (c.pid !== undefined) tracked.delete(c.pid);
}

/** Pids still tracked (running children), for assertions in tests. */
export function trackedPids(): number[] {
  return [...tracked.keys()];
}

/** A process's state letter from /proc (T: stopped by a signal), or null once it is gone. */
function procState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat[stat.lastIndexOf(')') + 2] ?? null; // after the command name, which may hold ')'
  } catch {
    return null;
  }
}

/**
 * Stops a process (SIGSTOP) for `ms`, then continues it: a stalled process, the pause being what a test is
 * about. The pause counts from when /proc shows the process stopped, not from when the signal was sent
 * (a signal is taken when the process next runs), and a stop that never shows is an error, not a pause.
 */
export async function stopFor(pid: number, ms: number): Promise<void> {
  process.kill(pid, 'SIGSTOP');
  try {
    await waitFor(() => procState(pid) === 'T', { what: `pid ${pid} stopped`, timeoutMs: 5_000, intervalMs: 2 });
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    process.kill(pid, 'SIGCONT');
  }
}
