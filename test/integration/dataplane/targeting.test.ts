// Targeting rules on real traffic through a real veer, set on the data plane the way the projection
// sets them: a matching request reaches the canary at any weight, and the requests that do not match
// are split exactly as they would be without rules (a targeted request takes no draw and no bucket).
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import type { TargetingRule } from '../../../src/domain/targeting.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

const RULES: TargetingRule[] = [
  { header: { name: 'X-Internal-User', value: '1' } },
  { cookie: { name: 'beta', value: 'yes' } },
  { query: { name: 'canary', regex: '^(1|true)$' } },
];

async function setup(seed: number, sticky = false) {
  const stable = await h.upstream('stable');
  const canary = await h.upstream('canary');
  const extra = sticky ? { sticky: { cookie: 'veer-web' } } : {};
  const v = await h.veer({
    services: [service('web', [stable.address], [canary.address], extra)],
    random: seededRandom(seed),
  });
  return { v, stable, canary };
}

const poolOf = async (url: string, headers: Record<string, string> = {}) => {
  const r = await http(url, { headers });
  expect(r.status).toBe(200);
  return { pool: String(r.headers['x-upstream']), setCookie: r.headers['set-cookie'] };
};

describe('targeting on the data plane', () => {
  it('at 5%, targeted requests always reach the canary and the others are split exactly as without rules', async () => {
    const SEED = 4242;
    const N = 400;
    const { v, canary } = await setup(SEED);
    expect(v.plane.update('web', { weightBp: 500, targeting: RULES })).toBe(true);
    // The same draws with no targeted request in between: one draw per ordinary request.
    const replay = seededRandom(SEED);
    let expected = 0;
    for (let i = 0; i < N; i++) if (replay() * 10_000 < 500) expected++;

    const targeted: Record<string, string>[] = [{ 'x-internal-user': '1' }, { cookie: 'theme=dark; beta=yes' }];
    let ordinaryCanary = 0;
    for (let i = 0; i < N; i++) {
      // Every fourth ordinary request is followed by a targeted one (header, cookie, query in turn).
      if (i % 4 === 0) {
        const k = (i / 4) % 3;
        const hit = k === 2 ? await poolOf(`${v.url}/shop?canary=true`) : await poolOf(v.url, targeted[k]);
        expect(hit.pool, `targeted request ${i / 4}`).toBe('canary');
      }
      // Near misses are ordinary requests.
      const miss = [{ 'x-internal-user': '0' }, { cookie: 'beta=no' }, {}][i % 3] as Record<string, string>;
      const path = i % 3 === 2 ? '/shop?canary=no' : '/';
      if ((await poolOf(`${v.url}${path}`, miss)).pool === 'canary') ordinaryCanary++;
    }
    expect(ordinaryCanary).toBe(expected);
    expect(canary.hits).toBe(expected + N / 4);
    expect(expected).toBeGreaterThan(8);
    expect(expected).toBeLessThan(35);
  });

  it('at weight 0 a targeted request reaches the canary without touching the sticky cookie', async () => {
    const { v, stable } = await setup(7, true);
    v.plane.update('web', { weightBp: 0, targeting: RULES });
    const first = await poolOf(v.url);
    expect(first.pool).toBe('stable');
    const cookie = (first.setCookie?.[0] ?? '').split(';')[0] as string;
    expect(cookie).toMatch(/^veer-web=\d+$/);

    for (let i = 0; i < 10; i++) {
      const t = await poolOf(v.url, { cookie: `${cookie}; beta=yes` });
      expect(t).toEqual({ pool: 'canary', setCookie: undefined });
      // A new client that is targeted gets no bucket either: it gets one once it is split by weight.
      expect(await poolOf(v.url, { 'x-internal-user': '1' })).toEqual({ pool: 'canary', setCookie: undefined });
    }
    // Without the rule's cookie the client is split by its own bucket, which is what it was.
    expect(await poolOf(v.url, { cookie })).toEqual({ pool: 'stable', setCookie: undefined });
    expect(stable.requests.at(-1)?.headers.cookie).toBe(cookie);

    v.plane.update('web', { targeting: [] });
    expect((await poolOf(v.url, { 'x-internal-user': '1' })).pool).toBe('stable');
  });
});
