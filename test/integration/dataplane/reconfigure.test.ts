// Swapping a pool's targets while requests are in flight: the old target finishes what it has,
// new requests go to the new target, and nothing is dropped.
import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../src/domain/target.js';
import { http, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();

function target(address: string) {
  const r = parseTarget(address);
  if (!r.ok) throw new Error(r.message);
  return r.target;
}

describe('reconfiguring targets', () => {
  it('lets in-flight requests on a removed target finish and routes new ones to its replacement', async () => {
    const old = await h.upstream('old', { delayMs: 300 });
    const fresh = await h.upstream('fresh');
    const v = await h.veer({ services: [service('web', [old.address])] });
    const inflight = Promise.all([http(`${v.url}/a`), http(`${v.url}/b`)]);
    await waitFor(() => old.hits === 2, 'both requests to reach the old target', 3_000);

    expect(v.plane.update('web', { stable: [target(fresh.address)] })).toBe(true);
    expect(v.plane.targets('web', 'stable').map((t) => t.id)).toEqual([fresh.address]);
    for (let i = 0; i < 5; i++) expect((await http(`${v.url}/c`)).headers['x-upstream']).toBe('fresh');

    const done = await inflight;
    expect(done.map((r) => [r.status, r.text])).toEqual([
      [200, 'old'],
      [200, 'old'],
    ]);
    expect(old.hits).toBe(2);
    expect(fresh.hits).toBe(5);
    await waitFor(() => v.plane.inFlight === 0, 'no request in flight', 3_000);
  });

  it("keeps a target's state across a weight change (same upstream, same outstanding count)", async () => {
    const slow = await h.upstream('slow', { delayMs: 300 });
    const canary = await h.upstream('canary');
    const v = await h.veer({ services: [service('web', [slow.address], [canary.address])] });
    const inflight = http(`${v.url}/`);
    await waitFor(() => slow.hits === 1, 'the request to reach the target', 3_000);
    expect(v.plane.targets('web', 'stable')[0]?.outstanding).toBe(1);
    v.plane.update('web', { weightBp: 5000 });
    expect(v.plane.targets('web', 'stable')[0]?.outstanding).toBe(1);
    expect((await inflight).status).toBe(200);
    await waitFor(() => v.plane.targets('web', 'stable')[0]?.outstanding === 0, 'the slot to be released', 3_000);
  });
});
