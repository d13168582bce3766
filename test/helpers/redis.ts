// A private redis-server per test file, on a port it picks, so tests can kill -9 and restart it
// without touching anyone else's instance. Readiness is a raw PING (no client library retries).
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import { exited, freePort, hasExited, spawnTracked, stopChild, waitFor, withTimeout } from './process.js';
import { probeLine } from './line-probe.js';

export interface RedisHandle {
  readonly port: number;
  /** Pid of the current process; changes after restart(). */
  readonly pid: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** SIGTERM (SIGKILL after a grace period); resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash; resolves once the process is gone. */
  kill9(): Promise<void>;
  /** Stops the server if it runs, then starts an empty one on the same port and waits for PING. */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;

/** Resolves true when a PING on 127.0.0.1:port answers +PONG within timeoutMs. */
export function ping(port: number, timeoutMs = 1_000): Promise<boolean> {
  return probeLine(port, { send: 'PING\r\n', expect: '+PONG', timeoutMs });
}

function spawnRedis(port: number): { child: ChildProcess; output: () => string } {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  // --dir keeps any stray file out of the repo; --protected-mode is moot on loopback only.
  args.push('--dir', os.tmpdir(), '--daemonize', 'no', '--protected-mode', 'no');
  const child = spawnTracked('redis-server', args);
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString('utf8')).slice(-2_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => tail };
}

async function launch(port: number): Promise<ChildProcess> {
  const { child, output } = spawnRedis(port);
  try {
    await waitFor(
      async () => {
        if (hasExited(child)) throw new Error(`redis-server exited: ${output()}`);
        return ping(port, 500);
      },
      { timeoutMs: READY_TIMEOUT_MS, intervalMs: 50, what: `redis-server PING on port ${port}` },
    );
    return child;
  } catch (e) {
    await stopChild(child, 1_000);
    throw e;
  }
}

/** Starts redis-server on a free loopback port; retries a few ports if one was taken meanwhile. */
export async function startRedis(): Promise<RedisHandle> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    try {
      const child = await launch(port);
      return handle(port, child);
    } catch (e) {
      lastError = e;
    }
  }
  throw lastError instanceof Error ? lastError : new Error('could not start redis-server');
}

function handle(port: number, first: ChildProcess): RedisHandle {
  let child = first;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid ?? -1;
    },
    stop: () => stopChild(child, 3_000),
    kill9: async () => {
      if (hasExited(child)) return;
      const gone = exited(child);
      // A crash gets no SIGTERM first: nothing may shut down cleanly.
      child.kill('SIGKILL');
      await withTimeout(gone, 5_000, 'redis-server to die after SIGKILL');
    },
    restart: async () => {
      await stopChild(child, 3_000);
      child = await launch(port);
    },
  };
}
