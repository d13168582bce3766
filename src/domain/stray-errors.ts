// What becomes of an error nothing handled, in a running `veer start` (the primary and each worker).
// - A promise rejected with no handler: Node's default is to throw it, which ends the process, every
//   open connection and a rollout mid-step with it. Such a rejection is a bug (veer's or a library's),
//   but a detached one: the code running when it surfaces was not interrupted, so nothing is half
//   done. It is logged at error level, with its stack, and veer keeps serving. The log is bounded: a
//   rejection per request must not turn the log into the outage.
// - An exception nothing caught: the code that threw stopped half way, and what it held is unknown.
//   It is logged as a JSON line like every other (Node's default prints plain text), then the process
//   ends with 1, as Node's default would: the primary replaces a worker, a supervisor the process.

import type { Logger } from './log.js';

export interface ProcessEvents {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown;
  on(event: 'uncaughtException', listener: (err: Error) => void): unknown;
}

export interface StrayErrorOptions {
  log: Logger;
  /** Monotonic milliseconds (the bound on log lines is per window). */
  now: () => number;
  exit: (code: number) => void;
  /** Lines per window before the rest are only counted; default 10 per 10 s. */
  linesPerWindow?: number;
  windowMs?: number;
}

const STACK_CHARS = 4_000;

function described(reason: unknown): { error: string; stack: string | null } {
  if (reason instanceof Error) return { error: reason.message, stack: reason.stack?.slice(0, STACK_CHARS) ?? null };
  let text: string;
  try {
    text = typeof reason === 'string' ? reason : (JSON.stringify(reason) ?? String(reason));
  } catch {
    text = String(reason);
  }
  return { error: text.slice(0, STACK_CHARS), stack: null };
}

/** Installs both listeners on `proc` (the process). */
export function guardStrayErrors(proc: ProcessEvents, opts: StrayErrorOptions): void {
  const limit = opts.linesPerWindow ?? 10;
  const windowMs = opts.windowMs ?? 10_000;
  let windowStart = Number.NEGATIVE_INFINITY;
  let logged = 0;
  let suppressed = 0;
  proc.on('unhandledRejection', (reason) => {
    const now = opts.now();
    if (now - windowStart >= windowMs) {
      // A new window: say first how many the last one left out.
      if (suppressed > 0) opts.log.log('error', 'unhandled promise rejections not logged', { count: suppressed });
      windowStart = now;
      logged = 0;
      suppressed = 0;
    }
    if (logged >= limit) return void suppressed++;
    logged++;
    opts.log.log('error', 'unhandled promise rejection (a bug; veer keeps serving)', described(reason));
  });
  proc.on('uncaughtException', (err) => {
    opts.log.log('error', 'uncaught exception: exiting', described(err));
    opts.exit(1);
  });
}
