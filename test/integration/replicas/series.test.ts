// The dashboard's per-second series through any replica: two veer processes share one redis-server,
// each takes its own share of real traffic, and both answer the same figures for the same seconds:
// the sum of what every replica proxied, i.e. what the judge reads.
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { replicaMark } from '../../../src/metrics/flush-marks.js';
import { flushedMarkerKey } from '../../../src/store/keys.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { service } from '../../helpers/veer.js';
import { freshPrefix, getJson, startReplicas, type Replica } from './harness.js';
import { useReplicaSuite } from './suite.js';

const suite = useReplicaSuite();

interface Series {
  source: string;
  t: number[];
  stable: { requests: Array<number | null>; errors: Array<number | null> } | null;
}
interface Frame {
  source: string;
  services: Array<{ name: string; recent: { stable: { rps: number } } | null }>;
}

const series = (r: Replica): Promise<Series> => getJson<Series>(`${r.adminUrl}/v1/services/web/series?seconds=900`);
const sum = (xs: ReadonlyArray<number | null>): number => xs.reduce<number>((a, x) => a + (x ?? 0), 0);

describe('dashboard series with several replicas', () => {
  it('every replica answers the merged per-second figures', async () => {
    const stable = await suite.upstream('stable');
    const [a, b] = (await startReplicas({
      redisUrl: suite.redis.url,
      prefix: freshPrefix('series'),
      services: [service('web', [stable.address])],
      count: 2,
    })) as [Replica, Replica];
    const ta = suite.track(startTraffic({ url: a.dataUrl, rps: 60, maxMs: 4_000 }));
    const tb = suite.track(startTraffic({ url: b.dataUrl, rps: 30, maxMs: 4_000 }));
    const [ra, rb] = await Promise.all([ta.done, tb.done]);
    expect(ra.failures + rb.failures).toBe(0);
    const stoppedSec = Math.floor(Date.now() / 1000);

    // Both books have read every second up to the end of the traffic once it settled in Redis.
    const [sa, sb] = await waitFor(
      async () => {
        const both = await Promise.all([series(a), series(b)]);
        return both.every((s) => (s.t.at(-1) ?? 0) > stoppedSec) ? both : null;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'both replicas to record the seconds after the traffic' },
    );
    expect(sa.source).toBe('merged');
    const from = Math.max(sa.t[0] ?? 0, sb.t[0] ?? 0);
    const to = Math.min(sa.t.at(-1) ?? 0, sb.t.at(-1) ?? 0);
    const slice = (s: Series) => (s.stable?.requests ?? []).slice(s.t.indexOf(from), s.t.indexOf(to) + 1);
    expect(slice(sa)).toEqual(slice(sb));
    // Every request either replica proxied is in the series of each.
    expect(sum(sb.stable?.requests ?? [])).toBe(ra.completed + rb.completed);
    expect(sum(sa.stable?.requests ?? [])).toBe(ra.completed + rb.completed);

    const frame = await getJson<Frame>(`${b.adminUrl}/v1/series`);
    expect(frame.source).toBe('merged');
    expect(frame.services.map((s) => s.name)).toEqual(['web']);
    // Each replica's clock against Redis's, from its heartbeats: one machine here, so well under a second.
    const text = await (await fetch(`${a.adminUrl}/metrics`)).text();
    const offset = /^veer_redis_clock_offset_seconds (\S+)$/m.exec(text)?.[1];
    expect(text).toContain('# TYPE veer_redis_clock_offset_seconds gauge');
    expect(Math.abs(Number(offset))).toBeLessThan(1);
  });
});

describe('flush marks (when the judge may read a second)', () => {
  it('each replica marks the newest second it shipped, and its mark goes with a clean stop', async () => {
    const stable = await suite.upstream('stable');
    const prefix = freshPrefix('marks');
    const [a, b] = (await startReplicas({
      redisUrl: suite.redis.url,
      prefix,
      services: [service('web', [stable.address])],
      count: 2,
    })) as [Replica, Replica];
    const redis = new Redis(suite.redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
    await redis.connect();
    try {
      const marks = async (): Promise<Map<string, number>> => {
        const flat = await redis.zrange(flushedMarkerKey(prefix), 0, -1, 'WITHSCORES');
        const out = new Map<string, number>();
        for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i] as string, Number(flat[i + 1]));
        return out;
      };
      // A mark trails its second by the flush grace and a round trip: within 3 s of now on a busy machine.
      const recent = (m: Map<string, number>, r: Replica): boolean =>
        (m.get(replicaMark(r.id)) ?? 0) >= Math.floor(Date.now() / 1000) - 3;
      await waitFor(async () => ((m) => recent(m, a) && recent(m, b))(await marks()), {
        timeoutMs: 10_000,
        what: 'both replicas to mark a recent second',
      });
      await b.stop();
      const after = await marks();
      expect(after.has(replicaMark(b.id)), JSON.stringify([...after])).toBe(false);
      expect(after.has(replicaMark(a.id))).toBe(true);
    } finally {
      redis.disconnect();
    }
  });
});
