// `workers: 2` on a replica that shares Redis: the primary's flusher ships the seconds its workers
// reported (merged in its windows) to the per-second hashes exactly once, so the sum every replica's
// judge reads counts each request once, those that end during a long shutdown drain too.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricKey } from '../../../src/store/keys.js';
import { exited, stopFor, waitFor, withTimeout } from '../../helpers/process.js';
import { startRedis, type RedisHandle } from '../../helpers/redis.js';
import { api, startWorkersVeer, workersOf, WORKERS_TEST_MS } from '../../helpers/workers.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();
let redis: RedisHandle;
let client: Redis;
beforeAll(async () => {
  redis = await startRedis();
  client = new Redis(redis.url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await client.connect();
});
afterAll(async () => {
  client.disconnect();
  await redis.stop();
});

/** Requests of web/stable in Redis over the seconds [from, to]. */
async function inRedis(prefix: string, from: number, to: number): Promise<number> {
  let n = 0;
  for (let s = from; s <= to; s++) n += Number((await client.hget(metricKey(prefix, 'web', 'stable', s), 'r')) ?? 0);
  return n;
}

describe('workers with Redis replicas', { timeout: WORKERS_TEST_MS }, () => {
  it('the merged seconds reach Redis once: the shared sum counts every request exactly once', async () => {
    const up = await h.upstream('web-upstream');
    const prefix = `w${Date.now()}`;
    const v = await startWorkersVeer(h, {
      services: [service('web', [up.address])],
      state: { store: 'redis', redis: redis.url, prefix },
    });
    const from = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 25; i++) expect((await http(v.dataUrl)).status).toBe(200);
    const to = () => Math.floor(Date.now() / 1000);
    await waitFor(async () => (await inRedis(prefix, from, to())) === 25, {
      what: '25 requests in Redis',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    // Later flushes add only what is new.
    for (let i = 0; i < 5; i++) expect((await http(v.dataUrl)).status).toBe(200);
    await waitFor(async () => (await inRedis(prefix, from, to())) === 30, {
      what: '30 requests in Redis',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    const s = await waitFor(
      async () => {
        const j = (await api<{ metrics: { stable: { requests: number } } }>(v, 'GET', '/v1/services/web')).json;
        return j.metrics.stable.requests === 30 ? j : null;
      },
      { what: 'the judged figures (read from Redis) to show 30', timeoutMs: 10_000 },
    );
    expect(s.metrics.stable.requests).toBe(30);
    expect(await inRedis(prefix, from, to())).toBe(30);
  });

  it("a worker's late report still reaches Redis whole: the primary ships a second once every worker has", async () => {
    const up = await h.upstream('web-upstream');
    const prefix = `late${Date.now()}`;
    const v = await startWorkersVeer(h, {
      services: [service('web', [up.address])],
      state: { store: 'redis', redis: redis.url, prefix },
    });
    const [a] = (await workersOf(v)).workers;
    if (a === undefined) throw new Error('expected 2 workers');
    const from = Math.floor(Date.now() / 1000);
    // A connection each: both workers serve some of them.
    for (let i = 0; i < 20; i++) expect((await http(v.dataUrl)).status).toBe(200);
    // Worker a's report of these seconds comes 2 s late (well past the usual 0.6 s, within the 5 s hold).
    await stopFor(a.pid, 2_000);
    const to = () => Math.floor(Date.now() / 1000);
    await waitFor(async () => (await inRedis(prefix, from, to())) === 20, {
      what: '20 requests in Redis',
      timeoutMs: 10_000,
      intervalMs: 100,
    });
    expect(await inRedis(prefix, from, to())).toBe(20);
  });

  it('requests that end during a shutdown drain longer than a report may wait still reach Redis', async () => {
    // 10 s: past the 1.5 s ones by more than the primary waits for a silent worker's report, 5 s
    // (shipped-seconds.ts). One on each connection: both workers have some.
    const delays: Record<string, number> = { '/long': 10_000, '/short': 1_500 };
    const up = await h.upstream('web-upstream', {
      handler: (req, res) => void setTimeout(() => res.end('ok'), delays[req.url ?? ''] ?? 0),
    });
    const prefix = `drain${Date.now()}`;
    const v = await startWorkersVeer(h, {
      services: [service('web', [up.address], [], { timeouts: { header: '30s', body: '30s' } })],
      state: { store: 'redis', redis: redis.url, prefix },
      proxy: { timeouts: { shutdown: '20s' } },
    });
    const from = Math.floor(Date.now() / 1000);
    const paths = [...Array.from({ length: 4 }, () => '/long'), ...Array.from({ length: 12 }, () => '/short')];
    const answers = paths.map((p) => http(`${v.dataUrl}${p}`, { timeoutMs: 30_000 }).then((r) => r.status));
    await waitFor(() => up.requests.length === paths.length, { what: 'every request upstream' });
    const exit = exited(v.child);
    v.child.kill('SIGTERM');
    expect(await Promise.all(answers)).toEqual(paths.map(() => 200));
    await withTimeout(exit, 30_000, 'veer to exit');
    expect(await inRedis(prefix, from, Math.floor(Date.now() / 1000))).toBe(paths.length);
  });
});
