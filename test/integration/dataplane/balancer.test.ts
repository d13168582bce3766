// Balancing within a pool on real traffic: passive outlier ejection (with an injected clock so the
// ejection window is exact), the never-eject-the-last-target rule, and least-outstanding choice.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import type { ServerResponse } from 'node:http';
import { parseTarget } from '../../../src/domain/target.js';
import { admin, http, manualClock, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

/** Always the first target when both are eligible (the balancer's tie goes to its first draw). */
const firstPick = (): number => 0;

async function statuses(v: TestVeer, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await http(`${v.url}/`)).status);
  return out;
}

const ejected = (v: TestVeer): string[] =>
  v.plane
    .targets('web', 'stable')
    .filter((t) => t.ejected)
    .map((t) => t.id);

describe('outlier ejection', () => {
  it('ejects a target after consecutiveErrors, sends traffic elsewhere, and readmits it after ejectFor', async () => {
    const bad = await h.upstream('bad', { status: 500 });
    const good = await h.upstream('good');
    const clock = manualClock();
    const v = await h.veer({
      services: [
        service('web', [bad.address, good.address], [], { outlier: { consecutiveErrors: 3, ejectFor: '10s' } }),
      ],
      clock,
      random: firstPick,
    });
    expect(await statuses(v, 3)).toEqual([500, 500, 500]);
    expect(bad.hits).toBe(3);
    expect(ejected(v)).toEqual([bad.address]);
    const status = await admin<{ pools: { stable: { targets: Array<{ id: string; ejected: boolean }> } } }>(
      v,
      'GET',
      '/v1/services/web',
    );
    expect(status.json.pools.stable.targets).toEqual([
      expect.objectContaining({ id: bad.address, ejected: true }),
      expect.objectContaining({ id: good.address, ejected: false }),
    ]);

    expect(await statuses(v, 10)).toEqual(Array(10).fill(200));
    expect(good.hits).toBe(10);
    expect(bad.hits).toBe(3);

    clock.advance(9_999);
    expect(await statuses(v, 2)).toEqual([200, 200]);
    expect(bad.hits).toBe(3);
    clock.advance(1);
    expect(ejected(v)).toEqual([]);
    expect(await statuses(v, 1)).toEqual([500]);
    expect(bad.hits).toBe(4);
  });

  it('never ejects the last target of a pool', async () => {
    const only = await h.upstream('only', { status: 500 });
    const v = await h.veer({
      services: [service('web', [only.address], [], { outlier: { consecutiveErrors: 2, ejectFor: '1m' } })],
    });
    expect(await statuses(v, 8)).toEqual(Array(8).fill(500));
    expect(only.hits).toBe(8);
    expect(ejected(v)).toEqual([]);
  });

  it('never ejects the last target of the pool of now, though the request went out when it had more', async () => {
    const held: ServerResponse[] = [];
    // The first request waits for the test; later ones fail at once.
    const bad = await h.upstream('bad', {
      handler: (_req, res) => void (held.length === 0 ? held.push(res) : res.writeHead(500).end('bad')),
    });
    const [b, c] = [await h.upstream('b'), await h.upstream('c')];
    const v = await h.veer({
      services: [
        service('web', [bad.address, b.address, c.address], [], { outlier: { consecutiveErrors: 1, ejectFor: '1m' } }),
      ],
      random: firstPick,
    });
    const pending = http(`${v.url}/`);
    await waitFor(() => held.length === 1, 'the first target to hold the request', 3_000);
    const only = parseTarget(bad.address);
    if (!only.ok) throw new Error(only.message);
    expect(v.plane.update('web', { stable: [only.target] })).toBe(true); // b and c leave routing
    held[0]?.writeHead(500).end('bad');
    expect((await pending).status).toBe(500);
    expect(ejected(v)).toEqual([]);
    expect((await http(`${v.url}/`)).status).toBe(500); // still served, by the one target there is
  });

  it('ejects only one of two failing targets: the last eligible one keeps serving', async () => {
    const a = await h.upstream('a', { status: 502 });
    const b = await h.upstream('b', { status: 503 });
    const v = await h.veer({
      services: [service('web', [a.address, b.address], [], { outlier: { consecutiveErrors: 2, ejectFor: '1m' } })],
      random: firstPick,
    });
    expect(await statuses(v, 10)).toEqual([502, 502, ...Array(8).fill(503)]);
    expect(a.hits).toBe(2);
    expect(b.hits).toBe(8);
    expect(ejected(v)).toEqual([a.address]);
  });
});

describe('least outstanding', () => {
  it('sends fewer concurrent requests to a slow target', async () => {
    const slow = await h.upstream('slow', { delayMs: 150 });
    const fast = await h.upstream('fast', { delayMs: 2 });
    const v = await h.veer({ services: [service('web', [slow.address, fast.address])], random: seededRandom(5) });
    const total = 96;
    const concurrency = 8;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < total) {
        next++;
        expect((await http(`${v.url}/`)).status).toBe(200);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    expect(slow.hits + fast.hits).toBe(total);
    // Random choice would give each about half (48 of 96); least-outstanding gives the slow one a fifth or less
    // on an idle machine. Under a loaded one the fast upstream's 2 ms becomes tens, so the bound is a third: it
    // still tells the two policies apart by a wide margin.
    expect(slow.hits * 2).toBeLessThan(fast.hits);
    expect(slow.hits).toBeGreaterThan(0);
  });
});
