// The per-file lifecycle every replica test shares: one redis-server for the file, and after each
// test the traffic, monitors, extra Redis servers, replicas and upstreams it started are stopped.
import { afterAll, afterEach, beforeAll } from 'vitest';
import { HEAVY_WAIT_MS, takeHeavySlot } from '../../helpers/heavy-slots.js';
import { killTracked } from '../../helpers/process.js';
import { startRedis, type RedisHandle } from '../../helpers/redis.js';
import { queuedSockets } from '../../helpers/socket-report.js';
import { startUpstream, type TestUpstream, type UpstreamBehaviour } from '../../helpers/upstream.js';
import { startThreadUpstream } from '../../helpers/upstream-thread.js';
import { replicaReport, stopReplicas } from './harness.js';

interface Stoppable {
  stop(): unknown;
}

export interface ReplicaSuite {
  /** The file's redis-server (started in beforeAll). */
  readonly redis: RedisHandle;
  /** On a thread of its own when `behaviour` has no function (no handler, a fixed status). */
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
    if (ctx.task.result?.state === 'fail') {
      console.info(await replicaReport());
      // Where unanswered requests sit: in an upstream's accept queue or socket (this process did not read
      // them), or in a replica's socket (the answer came and the replica did not read it).
      const ports = upstreams.map((u) => u.port);
      console.info(
        `--- sockets with bytes queued on the upstreams' ports (${ports.join(', ')}), this pid ${process.pid}:`,
      );
      console.info(await queuedSockets(ports));
    }
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
      // On its own thread unless it needs a function of this one (upstream-thread.ts says why).
      const { status, handler } = behaviour;
      const u =
        handler === undefined && typeof status !== 'function'
          ? await startThreadUpstream(name, { ...behaviour, status })
          : await startUpstream(name, behaviour);
      upstreams.push(u);
      return u;
    },
    track(x) {
      tracked.push(x);
      return x;
    },
  };
}
