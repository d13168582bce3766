// Moving traffic through the admin API while the data plane serves: the next requests follow the
// new weight, exactly as the seeded PRNG predicts, and nothing fails during the swap.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import { admin, http, service, useHarness, type TestVeer } from '../../helpers/veer.js';
import { waitFor } from '../../helpers/process.js';

const h = useHarness();

async function count(v: TestVeer, n: number): Promise<{ stable: number; canary: number }> {
  const seen = { stable: 0, canary: 0 };
  for (let i = 0; i < n; i++) {
    const r = await http(`${v.url}/`);
    expect(r.status).toBe(200);
    seen[r.headers['x-upstream'] as 'stable' | 'canary']++;
  }
  return seen;
}

describe('admin shift', () => {
  it('POST /v1/services/web/shift changes the split for the next requests', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const v = await h.veer({
      services: [service('web', [stable.address], [canary.address])],
      random: seededRandom(321),
    });
    expect(await count(v, 20)).toEqual({ stable: 20, canary: 0 });

    const shifted = await admin<{ name: string; weight: number }>(v, 'POST', '/v1/services/web/shift', { weight: 50 });
    expect(shifted.status).toBe(200);
    expect(shifted.json).toMatchObject({ name: 'web', weight: 50 });
    expect(v.plane.weight('web')).toBe(5000);
    expect((await admin<{ weight: number }>(v, 'GET', '/v1/services/web')).json.weight).toBe(50);

    // Weight 0 drew no randoms, so the PRNG replay starts at the first request after the shift.
    const replay = seededRandom(321);
    let expected = 0;
    for (let i = 0; i < 100; i++) if (replay() * 10_000 < 5000) expected++;
    expect(await count(v, 100)).toEqual({ stable: 100 - expected, canary: expected });
    expect(expected).toBeGreaterThan(30);
    expect(expected).toBeLessThan(70);

    expect((await admin(v, 'POST', '/v1/services/web/shift', { weight: 100 })).status).toBe(200);
    expect(await count(v, 10)).toEqual({ stable: 0, canary: 10 });
  });

  it('rejects invalid shifts without changing the weight', async () => {
    const stable = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [stable.address], [], { weight: 10 })] });
    const bad = await admin<{ error: { code: string } }>(v, 'POST', '/v1/services/web/shift', { weight: 150 });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('invalid_request');
    const missing = await admin<{ error: { code: string } }>(v, 'POST', '/v1/services/nope/shift', { weight: 5 });
    expect(missing.status).toBe(404);
    expect(v.plane.weight('web')).toBe(1000);
  });

  it('a shift onto an empty canary pool is kept, and its event says nothing moves yet', async () => {
    const stable = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [stable.address])] });
    const shifted = await admin<{ weight: number }>(v, 'POST', '/v1/services/web/shift', { weight: 50 });
    expect([shifted.status, shifted.json.weight]).toEqual([200, 50]);
    const events = await admin<{ events: Array<{ kind: string; message: string }> }>(
      v,
      'GET',
      '/v1/services/web/events',
    );
    expect(events.json.events.filter((e) => e.kind === 'shifted').map((e) => e.message)).toEqual([
      'weight shifted by hand from 0% to 50%: the canary pool has no targets yet',
    ]);
    expect((await count(v, 5)).stable).toBe(5);
  });

  it('shifts while concurrent traffic flows: no failures, and every request after the answer follows it', async () => {
    const stable = await h.upstream('stable', { delayMs: 2 });
    const canary = await h.upstream('canary', { delayMs: 2 });
    const v = await h.veer({ services: [service('web', [stable.address], [canary.address])] });
    let shiftedAt = Number.POSITIVE_INFINITY;
    const results: Array<{ startedAt: number; status: number; pool: string }> = [];
    const deadline = Date.now() + 10_000;
    let stop = false;
    const worker = async (): Promise<void> => {
      while (!stop && Date.now() < deadline) {
        const startedAt = performance.now();
        // A failed request is recorded (status 0), never thrown: the assertion below reports it.
        const r = await http(`${v.url}/`).catch(() => null);
        results.push({ startedAt, status: r?.status ?? 0, pool: String(r?.headers['x-upstream']) });
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    h.defer(async () => {
      stop = true;
      await Promise.all(workers);
    });
    const waitForResults = (n: number): Promise<unknown> =>
      waitFor(() => results.length >= n, { timeoutMs: 5_000, intervalMs: 5, what: `${n} answers` });
    await waitForResults(30);
    expect((await admin(v, 'POST', '/v1/services/web/shift', { weight: 100 })).status).toBe(200);
    shiftedAt = performance.now();
    const before = results.length;
    await waitForResults(before + 60);
    stop = true;
    await Promise.all(workers);

    expect(results.every((r) => r.status === 200)).toBe(true);
    const after = results.filter((r) => r.startedAt > shiftedAt);
    expect(after.length).toBeGreaterThanOrEqual(30);
    expect(after.every((r) => r.pool === 'canary')).toBe(true);
    expect(results.filter((r) => r.startedAt < shiftedAt && r.pool === 'stable').length).toBeGreaterThanOrEqual(30);
  });
});
