// The replica that reads the merged seconds (the leader's judge, a dashboard) with its clock 10 s ahead of Redis's,
// or 10 s behind, through a real redis-server, heartbeats and flushers. Replicas key their seconds on Redis's clock
// (flusher.ts); a reader that took its own clock for Redis's saw no live replica (the registry is scored by Redis's
// clock), answered the judge in Redis's seconds while the controller counts in its own (a step's first seconds
// were never judged, or seconds from before it were), and filled the dashboard with seconds nobody had flushed yet.
// Last, the wiring: a whole veer whose clock is 10 s off runs a rollout through Redis as fast as a synced one.
import { afterEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/domain/clock.js';
import { silentLogger } from '../../src/domain/log.js';
import { settledSecond } from '../../src/domain/second.js';
import { MetricsFlusher } from '../../src/metrics/flusher.js';
import { MERGE_SETTLE_MS, MergedMetricsSource } from '../../src/metrics/merged-source.js';
import { MetricsRegistry } from '../../src/metrics/registry.js';
import { SeriesBook } from '../../src/metrics/series-book.js';
import { mergedSeconds } from '../../src/metrics/series-source.js';
import { ClockOffset } from '../../src/store/clock-offset.js';
import { ReplicaRegistry } from '../../src/store/replicas.js';
import { useFlushRedis } from '../helpers/flush-redis.js';
import { waitFor } from '../helpers/process.js';
import { startTraffic, trouble } from '../helpers/traffic.js';
import { admin, service, useHarness } from '../helpers/veer.js';
import { POLICY, status, terminal } from './rollout/probes.js';

const h = useFlushRedis();
const v = useHarness();
const registries: ReplicaRegistry[] = [];
let prefixes = 0;

afterEach(async () => {
  await Promise.allSettled(registries.splice(0).map((r) => r.stop()));
});

/** A replica as ClusterMembership builds one: heartbeats measuring its clock's offset, a flusher keyed on Redis's. */
async function replica(id: string, prefix: string, clock: Clock, flushes = true) {
  const registry = new MetricsRegistry();
  const offset = new ClockOffset(silentLogger);
  const c = await h.client();
  const info = { adminUrl: 'http://127.0.0.1:1', version: '1' };
  const beats = new ReplicaRegistry(c, { prefix, id, info, everyMs: 100, offset, clock });
  registries.push(beats);
  await beats.start();
  await waitFor(() => offset.offsetMs() !== null, { timeoutMs: 3_000, intervalMs: 10, what: `${id}'s offset` });
  if (flushes) {
    const secondsAhead = () => offset.secondsAhead();
    const f = new MetricsFlusher({ registry, redis: c, prefix, clock, replica: id, secondsAhead });
    h.flushers.push(f);
    f.start();
  }
  return { registry, offset };
}

/**
 * The judge reads each second from `fromSec` once, as soon as it takes it for complete (analysis-input.ts), until
 * one past `servedSec`: the requests of each second that had any, and the last second read.
 */
async function judgeUntilPast(judge: MergedMetricsSource, clock: Clock, fromSec: number, servedSec: number) {
  const seen = new Map<number, number>();
  let judgedUpTo = fromSec - 1;
  await waitFor(
    async () => {
      const complete = await judge.lastComplete(clock.now());
      for (; judgedUpTo < complete; judgedUpTo++) {
        const sec = judgedUpTo + 1;
        const n = (await judge.totals('web', 'stable', sec * 1000, sec * 1000 + 999)).requests;
        if (n > 0) seen.set(sec, n);
      }
      return complete > servedSec;
    },
    { timeoutMs: 5_000, intervalMs: 50, what: "the judge's second past the traffic" },
  );
  return { seen, judgedUpTo };
}

describe.each([
  { skew: '10 s ahead of', offsetMs: 10_000 },
  { skew: '10 s behind', offsetMs: -10_000 },
  { skew: 'in step with', offsetMs: 0 },
])('a reader whose clock runs $skew Redis (real redis-server)', ({ offsetMs }) => {
  it('the judge sees each request in the second its clock served it, once every replica flushed it', async () => {
    const prefix = `ahead${++prefixes}`;
    const real: Clock = { now: () => Date.now() };
    const skewed: Clock = { now: () => Date.now() + offsetMs };
    const a = await replica('a', prefix, real);
    const b = await replica('b', prefix, skewed);
    expect(b.offset.secondsAhead()).toBe(-offsetMs / 1000 || 0);
    const c = await h.client();
    const judge = new MergedMetricsSource({ redis: c, prefix, secondsAhead: () => b.offset.secondsAhead() });
    const book = new SeriesBook({
      source: mergedSeconds(c, prefix),
      clock: skewed,
      services: () => ['web'],
    });
    // The dashboard ticks before any traffic: it must not take unflushed seconds for settled.
    expect(await book.tick()).toBe(true);

    // A step starts on b's clock (the controller's); traffic comes from the next second on, on both replicas.
    const fromSec = Math.floor(skewed.now() / 1000) + 1;
    await waitFor(() => Math.floor(skewed.now() / 1000) >= fromSec, { timeoutMs: 2_000, intervalMs: 10 });
    const t = Date.now();
    for (let i = 0; i < 7; i++) a.registry.pool('web', 'stable').record(t, 200, 5);
    for (let i = 0; i < 5; i++) b.registry.pool('web', 'stable').record(t + offsetMs, 200, 5);
    const servedSec = Math.floor((t + offsetMs) / 1000); // on b's clock
    const redisSec = Math.floor(t / 1000); // on Redis's: the dashboard's seconds, the same on every replica

    const { seen, judgedUpTo } = await judgeUntilPast(judge, skewed, fromSec, servedSec);
    expect([...seen]).toEqual([[servedSec, 12]]);
    expect((await judge.totals('web', 'stable', fromSec * 1000, judgedUpTo * 1000 + 999)).requests).toBe(12);
    const lag = await judge.lagSeconds(skewed.now());
    expect(lag).toBeGreaterThan(0);
    expect(lag).toBeLessThan(3);

    // A replica live in the registry that has shipped nothing is waited for (the fixed wait), on b's clock.
    await replica('c', prefix, real, false);
    const before = settledSecond(skewed.now(), MERGE_SETTLE_MS);
    const waited = await judge.lastComplete(skewed.now());
    expect(waited).toBeGreaterThanOrEqual(before);
    expect(waited).toBeLessThanOrEqual(settledSecond(skewed.now(), MERGE_SETTLE_MS));

    // The dashboard shows Redis's seconds, the traffic's whole, once every replica flushed it.
    await waitFor(async () => (await book.tick()) && (book.newest ?? -Infinity) > redisSec, {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: "the dashboard's second past the traffic",
    });
    const cols = book.ring('web')?.columns(redisSec - 3, redisSec + 1);
    const shown = cols?.t.map((sec, i) => [sec, cols.stable.requests[i]]).filter(([, n]) => (n ?? 0) > 0);
    expect(shown).toEqual([[redisSec, 12]]);
  });
});

describe('a judge that reads before its clock was measured against Redis (real redis-server)', () => {
  it('finds no second complete until the first measurement, then reads on it at once, not on a guess', async () => {
    const prefix = `unmeasured${++prefixes}`;
    const offsetMs = 10_000;
    const skewed: Clock = { now: () => Date.now() + offsetMs };
    const a = await replica('a', prefix, { now: () => Date.now() });
    const b = await replica('b', prefix, skewed);
    let known = false; // the judge's replica has no heartbeat sample yet (a loaded host: none under 1 s)
    const judge = new MergedMetricsSource({
      redis: await h.client(),
      prefix,
      secondsAhead: () => (known ? b.offset.secondsAhead() : null),
    });
    // A rollout's reads go on meanwhile (every 250 ms): none may find a second complete, or hold a guess.
    for (let i = 0; i < 4; i++) {
      expect(await judge.lastComplete(skewed.now())).toBeLessThan(0);
      await judge.totals('web', 'stable', skewed.now() - 2_000, skewed.now());
    }
    known = true;
    const fromSec = Math.floor(skewed.now() / 1000) + 1;
    await waitFor(() => Math.floor(skewed.now() / 1000) >= fromSec, { timeoutMs: 2_000, intervalMs: 10 });
    const t = Date.now();
    for (let i = 0; i < 7; i++) a.registry.pool('web', 'stable').record(t, 200, 5);
    for (let i = 0; i < 5; i++) b.registry.pool('web', 'stable').record(t + offsetMs, 200, 5);
    const servedSec = Math.floor((t + offsetMs) / 1000); // on the judge's clock
    const { seen } = await judgeUntilPast(judge, skewed, fromSec, servedSec);
    // Every request in the second the judge's clock served it: read on the measured shift, not the 0 before it.
    expect([...seen]).toEqual([[servedSec, 12]]);
  });
});

describe.each([
  { step: 'forward', byMs: 3_000 },
  { step: 'back', byMs: -3_000 },
])("the judge's clock stepped $step by 3 s mid-rollout (real redis-server)", ({ byMs }) => {
  it('judges every second of the traffic once: none twice, none skipped', async () => {
    const prefix = `shift${++prefixes}`;
    const a = await replica('a', prefix, { now: () => Date.now() });
    // The judge's replica: in step with Redis, until its clock is stepped and its next heartbeat measures that.
    let skewMs = 0;
    let measured: number | null = 0;
    const judge = new MergedMetricsSource({ redis: await h.client(), prefix, secondsAhead: () => measured });
    const now = (): number => Date.now() + skewMs;
    // As analysis-input.ts: from the place the last analysis ended (on the judge's clock) to the newest complete.
    let place = (Math.floor(now() / 1000) + 1) * 1000;
    const firstSec = place / 1000; // Redis's second too, while in step
    let judged = 0;
    const analyse = async (): Promise<void> => {
      const last = await judge.lastComplete(now());
      if (last < Math.ceil(place / 1000)) return;
      judged += (await judge.totals('web', 'stable', place, last * 1000 + 999)).requests;
      place = (last + 1) * 1000;
    };
    let served = 0;
    const started = Date.now();
    const traffic = setInterval(() => {
      if (Math.floor(Date.now() / 1000) < firstSec) return;
      a.registry.pool('web', 'stable').record(Date.now(), 200, 5);
      served++;
    }, 50);
    v.defer(() => clearInterval(traffic));
    let reached: number | null = null; // the place once every request served was judged
    await waitFor(
      async () => {
        if (Date.now() - started > 2_500 && skewMs === 0) [skewMs, measured] = [byMs, -byMs / 1000];
        if (Date.now() - started > 5_000) clearInterval(traffic);
        await analyse();
        if (reached === null && Date.now() - started > 5_000 && judged >= served) reached = place;
        // Two more seconds judged after that: a second read twice would show by then.
        return reached !== null && place >= reached + 2_000;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the judge to read every request served' },
    );
    expect(served).toBeGreaterThan(50);
    expect(judged).toBe(served);
  });
});

/** One in-process veer through Redis whose clock is `offsetMs` off runs a rollout of a good canary: its time. */
async function rolloutMs(offsetMs: number): Promise<number> {
  const stable = await v.upstream('stable');
  const canary = await v.upstream('canary');
  const state = { store: 'redis', redis: h.server.url, prefix: `ahead-rollout${++prefixes}` };
  const veer = await v.veer({
    services: [service('web', [stable.address], [], { rollout: POLICY })],
    state,
    clock: { now: () => Date.now() + offsetMs },
  });
  const t = startTraffic({ url: veer.url, rps: 200, maxMs: 40_000, until: () => terminal(veer) });
  v.defer(() => t.stop().catch(() => undefined));
  await waitFor(() => t.snapshot().completed >= 100, { timeoutMs: 5_000, intervalMs: 10, what: 'warm-up traffic' });
  const started = Date.now();
  const r = await admin(veer, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary.address] } });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  const report = await t.done;
  const elapsed = Date.now() - started;
  expect(report.failures, trouble(report, 5)).toBe(0);
  expect((await status(veer)).rollout?.phase).toBe('succeeded');
  return elapsed;
}

describe.each([
  { skew: 'ahead of', offsetMs: 10_000 },
  { skew: 'behind', offsetMs: -10_000 },
])('the leader 10 s $skew Redis (veer in-process, real redis-server)', ({ offsetMs }) => {
  it('judges each step from its first second: a good canary succeeds as fast as with synced clocks', async () => {
    // The same rollout with a synced clock runs beside it, on the same host at the same moment: a loaded host slows
    // both alike, so the difference, not the wall clock, tells a judge that waits on the wrong clock.
    const [skewed, synced] = await Promise.all([rolloutMs(offsetMs), rolloutMs(0)]);
    console.log(`[clock ${offsetMs} ms] the rollout took ${skewed} ms skewed, ${synced} ms synced`);
    // Two judged steps of at least the 4 s of traffic a verdict needs (as in rollout/canary.test.ts). A judge that
    // took Redis's seconds for its clock's waited 10 s more for each step when ahead (20 s in all; and left its
    // first 10 s out), and when behind judged seconds from before each step began (done before 8 s).
    expect(skewed).toBeGreaterThanOrEqual(8_000);
    expect(skewed - synced, `skewed ${skewed} ms, synced ${synced} ms`).toBeLessThan(10_000);
  }, 60_000);
});
