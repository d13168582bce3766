// The per-file lifecycle every replica test shares: one redis-server for the file, and after each
// test the traffic, monitors, extra Redis servers, replicas and upstreams it started are stopped.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { killTracked } from '../../helpers/process.js';
import { startRedis, type RedisHandle } from '../../helpers/redis.js';
import { startUpstream, type TestUpstream, type UpstreamBehaviour } from '../../helpers/upstream.js';
import { stopReplicas } from './harness.js';

interface Stoppable {
  stop(): unknown;
}

export interface ReplicaSuite {
  /** The file's redis-server (started in beforeAll). */
  readonly redis: RedisHandle;
  upstream(name: string, behaviour?: Partial<UpstreamBehaviour>): Promise<TestUpstream>;
  /** Stopped after the test, before the replicas. */
  track<T extends Stoppable>(x: T): T;
}

export function useReplicaSuite(): ReplicaSuite {
  let redis: RedisHandle | undefined;
  const upstreams: TestUpstream[] = [];
  const tracked: Stoppable[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await Promise.allSettled(tracked.splice(0).map(async (t) => t.stop()));
    await stopReplicas();
    await Promise.allSettled(upstreams.splice(0).map((u) => u.close()));
  });
  afterAll(async () => {
    await redis?.stop();
    await killTracked();
  });
  return {
    get redis() {
      if (redis === undefined) throw new Error('redis is started in beforeAll');
      return redis;
    },
    async upstream(name, behaviour = {}) {
      const u = await startUpstream(name, behaviour);
      upstreams.push(u);
      return u;
    },
    track(x) {
      tracked.push(x);
      return x;
    },
  };
}
