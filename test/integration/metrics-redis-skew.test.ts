// Two replicas whose clocks disagree by two seconds, through a real redis-server: the heartbeat measures each
// one's offset from Redis's clock (TIME), and the flusher keys its seconds on Redis's. Keyed on its own clock, the
// late replica's seconds reached Redis after the judge (on the other's clock) had read them: its traffic was left
// out for good.
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LogLevel } from '../../src/domain/log.js';
import { MetricsFlusher } from '../../src/metrics/flusher.js';
import { settledSecond } from '../../src/domain/second.js';
import { MERGE_SETTLE_MS, MergedMetricsSource } from '../../src/metrics/merged-source.js';
import { mergedSeconds } from '../../src/metrics/series-source.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { ClockOffset } from '../../src/store/clock-offset.js';
import { replicasKey } from '../../src/store/keys.js';
import { ReplicaRegistry } from '../../src/store/replicas.js';
import { killTracked, waitFor } from '../helpers/process.js';
import { startRedis, type RedisHandle } from '../helpers/redis.js';

const SKEW_MS = 2_000;
let redis: RedisHandle;
const clients: Redis[] = [];
const registries: ReplicaRegistry[] = [];

beforeAll(async () => {
  redis = await startRedis();
});

afterEach(async () => {
  await Promise.allSettled(registries.splice(0).map((r) => r.stop()));
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await redis?.stop();
  await killTracked();
});

function client(): Redis {
  const c = new Redis(redis.url, { maxRetriesPerRequest: 0, commandTimeout: 1_000 });
  clients.push(c);
  return c;
}

/** Replica b's clock offset, measured by its heartbeats (its clock SKEW_MS behind the real one, as Redis's). */
async function measured(prefix: string): Promise<{ offset: ClockOffset; levels: LogLevel[] }> {
  const levels: LogLevel[] = [];
  const offset = new ClockOffset({ log: (level) => void levels.push(level) });
  const b = new ReplicaRegistry(client(), {
    prefix,
    id: 'b',
    info: { adminUrl: 'http://127.0.0.1:1', version: '1' },
    everyMs: 20,
    offset,
    clock: { now: () => Date.now() - SKEW_MS },
  });
  registries.push(b);
  await b.start();
  await waitFor(() => offset.secondsAhead() === 2, { timeoutMs: 3_000, intervalMs: 10, what: 'the offset' });
  return { offset, levels };
}

describe('replicas whose clocks disagree (real redis-server)', () => {
  it('the heartbeat measures how far behind Redis a replica runs, and warns of it', async () => {
    const { offset, levels } = await measured('skew1');
    expect(Math.abs((offset.offsetMs() as number) - SKEW_MS)).toBeLessThan(250);
    expect(levels).toEqual(['warn']);
  });

  it("the judge, on the other replica's clock, sees every request of the late one", async () => {
    const c = client();
    const prefix = 'skew2';
    const { offset } = await measured(prefix);
    // Simulated time from here, 100 ms a step; b's clock SKEW_MS behind a's (and Redis's).
    let real = Math.ceil(Date.now() / 1000) * 1000 + 50;
    const clockA = { now: () => real };
    const clockB = { now: () => real - SKEW_MS };
    const regA = new MetricsRegistry();
    const regB = new MetricsRegistry();
    const fA = new MetricsFlusher({ registry: regA, redis: c, prefix, clock: clockA, replica: 'a' });
    const secondsAhead = () => offset.secondsAhead();
    const fB = new MetricsFlusher({ registry: regB, redis: c, prefix, clock: clockB, replica: 'b', secondsAhead });
    const judge = new MergedMetricsSource({ redis: c, prefix });
    const firstSec = Math.floor(real / 1000) + 3;
    let judged = 0;
    let served = 0;
    let lastServed = 0;
    let judgedUpTo = firstSec - 1;
    for (let step = 0; step < 200; step++) {
      real += 100;
      await c.zadd(replicasKey(prefix), real, 'a', real, 'b');
      if (step % 10 === 0 && step < 150 && Math.floor(real / 1000) >= firstSec) {
        for (let i = 0; i < 10; i++) {
          regA.pool('web', 'stable').record(clockA.now(), 200, 5);
          regB.pool('web', 'stable').record(clockB.now(), 200, 5);
        }
        served += 20;
        lastServed = Math.floor(real / 1000);
      }
      await fA.flushOnce();
      await fB.flushOnce();
      // Each second read once, as soon as the judge takes it for complete.
      const complete = await judge.lastComplete(clockA.now());
      for (let s = judgedUpTo + 1; s <= complete; s++, judgedUpTo++)
        judged += (await judge.totals('web', 'stable', s * 1000, s * 1000)).requests;
    }
    // Traffic stopped seconds before the last one judged: every request of both replicas was seen.
    expect(judgedUpTo).toBeGreaterThan(lastServed + 2);
    expect(served).toBeGreaterThanOrEqual(200);
    expect(judged).toBe(served);
  });

  it('a reader whose clock runs ahead of Redis takes no second for settled before Redis does', async () => {
    const c = client();
    const ahead = { now: () => Date.now() + 3_000 };
    // No replica has marked anything: the fixed wait alone says, on Redis's clock (as the seconds are keyed).
    const judged = await new MergedMetricsSource({ redis: c, prefix: 'skew3' }).lastComplete(ahead.now());
    expect(judged).toBeLessThanOrEqual(settledSecond(Date.now(), MERGE_SETTLE_MS));
    expect(judged).toBeGreaterThanOrEqual(settledSecond(Date.now(), MERGE_SETTLE_MS) - 1);
    // The dashboard's merged series settles its seconds on Redis's clock (TIME), whatever the reader's says.
    const series = mergedSeconds(c, 'skew3');
    expect(await series.lastComplete?.(ahead.now())).toBeLessThanOrEqual(settledSecond(Date.now(), MERGE_SETTLE_MS));
    // A reader behind Redis keeps its own clock's (older) second: nothing is read before it is flushed.
    const behind = Date.now() - 3_000;
    expect(await new MergedMetricsSource({ redis: c, prefix: 'skew3' }).lastComplete(behind)).toBe(
      settledSecond(behind, MERGE_SETTLE_MS),
    );
  });
});
