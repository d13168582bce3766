// The per-file lifecycle every replica test shares: one redis-server for the file, and after each
// test the traffic, monitors, extra Redis servers, replicas and upstreams it started are stopped.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { HEAVY_WAIT_MS, takeHeavySlot } from '../../helpers/heavy-slots.js';
import { killTracked } from '../../helpers/process.js';
import { startRedis, type RedisHandle } from '../../helpers/redis.js';
import { startUpstream, type TestUpstream, type UpstreamBehaviour } from '../../helpers/upstream.js';
import { replicaReport, stopReplicas } from './harness.js';

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
  let release = (): void => undefined;
  // Three replicas under traffic per file: a few such files at once starve this process (heavy-slots.ts).
  beforeAll(async () => {
    release = await takeHeavySlot();
    redis = await startRedis();
  }, HEAVY_WAIT_MS + 30_000);
  afterEach(async (ctx) => {
    // A failed test's replicas say what they were doing: a stall or a held request shows in their logs.
    if (ctx.task.result?.state === 'fail') console.info(await replicaReport());
    await Promise.allSettled(tracked.splice(0).map(async (t) => t.stop()));
    await stopReplicas();
    await Promise.allSettled(upstreams.splice(0).map((u) => u.close()));
  });
  afterAll(async () => {
    await redis?.stop();
    await killTracked();
    release();
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
