// The addresses a `veer start` child bound, read from its "veer started" log line. A child told to
// listen on port 0 gets its ports from the OS while it binds them, so no other process can take them
// in between: a port picked free up front and handed over later can be (a parallel test's listener, or
// any connection's local port), and then the test talks to whichever process holds it.
import type { ChildProcess } from 'node:child_process';
import { hasExited } from './process.js';

export interface StartedAddresses {
  /** host:port of the data listener, of the admin API. */
  listen: string;
  admin: string;
}

/** Resolves with the child's "veer started" line's addresses; rejects at once if it exits first. */
export function veerStarted(child: ChildProcess, output: () => string, timeoutMs: number): Promise<StartedAddresses> {
  return new Promise<StartedAddresses>((resolve, reject) => {
    let partial = '';
    const onData = (c: Buffer): void => {
      const lines = (partial + c.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        const started = parseStarted(line);
        if (started) return done(() => resolve(started));
      }
    };
    const onExit = (): void => done(() => reject(new Error(`veer exited before it started: ${output()}`)));
    const timer = setTimeout(
      () => done(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for veer to start: ${output()}`))),
      timeoutMs,
    );
    const done = (settle: () => void): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('exit', onExit);
      settle();
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
    if (hasExited(child)) onExit();
  });
}

/** The addresses of one output line if it is the "veer started" line, else null. */
export function parseStarted(line: string): StartedAddresses | null {
  if (!line.includes('"veer started"')) return null;
  try {
    const o = JSON.parse(line) as { msg?: unknown; listen?: unknown; admin?: unknown };
    const ok = o.msg === 'veer started' && typeof o.listen === 'string' && typeof o.admin === 'string';
    return ok ? { listen: o.listen as string, admin: o.admin as string } : null;
  } catch {
    return null;
  }
}

/** The port of a "host:port" (IPv6 hosts in brackets or not). */
export const portOf = (hostPort: string): number => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));
