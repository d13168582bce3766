// A real redis-server for the metrics flusher's tests, with clients connected as veer's store connects them (no
// offline queue, bounded commands, reconnecting with a capped delay). Registers its own hooks: flushers stop and
// clients disconnect after each test, and a test that failed mid-outage never leaves the next without a server.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { MetricsFlusher } from '../../src/metrics/flusher.js';
import { killTracked } from './process.js';
import { ping, startRedis, type RedisHandle } from './redis.js';

export interface FlushRedis {
  /** The server (set once the suite's first hook ran). */
  readonly server: RedisHandle;
  /** Stopped after each test. */
  readonly flushers: MetricsFlusher[];
  /** A connected client, disconnected after the test. */
  client(): Promise<Redis>;
}

export function useFlushRedis(): FlushRedis {
  let server: RedisHandle | undefined;
  const clients: Redis[] = [];
  const flushers: MetricsFlusher[] = [];

  beforeAll(async () => {
    server = await startRedis();
  });

  afterEach(async () => {
    await Promise.allSettled(flushers.splice(0).map((f) => f.stop()));
    for (const c of clients.splice(0)) c.disconnect();
    if (server !== undefined && !(await ping(server.port))) await server.restart();
  });

  afterAll(async () => {
    await server?.stop();
    await killTracked();
  });

  const started = (): RedisHandle => {
    if (server === undefined) throw new Error('redis-server is not started yet (use it inside a test)');
    return server;
  };

  return {
    get server(): RedisHandle {
      return started();
    },
    flushers,
    async client(): Promise<Redis> {
      const c = new Redis(started().url, {
        enableOfflineQueue: false,
        commandTimeout: 1_000,
        maxRetriesPerRequest: 0,
        lazyConnect: true,
        retryStrategy: (n) => Math.min(n * 50, 200),
      });
      c.on('error', () => undefined);
      clients.push(c);
      await c.connect();
      return c;
    },
  };
}
