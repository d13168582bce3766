// The stable/canary split on real traffic: weights, seeded randomness (exact counts), the sticky
// cookie and its monotonic assignment, and the override header.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../../src/domain/clock.js';
import { http, service, useHarness, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

async function pools(opts: { weight: number; sticky?: boolean; proxy?: Record<string, unknown>; seed?: number }) {
  const stable = await h.upstream('stable');
  const canary = await h.upstream('canary');
  const extra: Record<string, unknown> = { weight: opts.weight };
  if (opts.sticky) extra.sticky = { cookie: 'veer-web' };
  const v = await h.veer({
    services: [service('web', [stable.address], [canary.address], extra)],
    ...(opts.proxy ? { proxy: opts.proxy } : {}),
    random: seededRandom(opts.seed ?? 7),
  });
  return { v, stable, canary };
}

async function poolOf(
  v: TestVeer,
  headers: Record<string, string> = {},
): Promise<{ pool: string; setCookie: string[] | undefined }> {
  const r = await http(`${v.url}/`, { headers });
  expect(r.status).toBe(200);
  return { pool: String(r.headers['x-upstream']), setCookie: r.headers['set-cookie'] };
}

async function sendMany(v: TestVeer, n: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = { stable: 0, canary: 0 };
  for (let i = 0; i < n; i++) {
    const { pool } = await poolOf(v);
    seen[pool] = (seen[pool] ?? 0) + 1;
  }
  return seen;
}

/** Mints a client: the cookie pair ("veer-web=1234") and the pool of its first request. */
async function newClient(v: TestVeer): Promise<{ cookie: string; bucket: number; pool: string }> {
  const { pool, setCookie } = await poolOf(v);
  expect(setCookie).toHaveLength(1);
  const cookie = (setCookie?.[0] ?? '').split(';')[0] as string;
  return { cookie, bucket: Number(cookie.split('=')[1]), pool };
}

describe('weighted split', () => {
  it('weight 0 sends everything to stable, 100 everything to canary', async () => {
    const zero = await pools({ weight: 0 });
    expect(await sendMany(zero.v, 30)).toEqual({ stable: 30, canary: 0 });
    expect(zero.canary.hits).toBe(0);

    const full = await pools({ weight: 100 });
    expect(await sendMany(full.v, 30)).toEqual({ stable: 0, canary: 30 });
    expect(full.stable.hits).toBe(0);
  });

  it('30% with seeded randomness gives exactly the count the PRNG predicts', async () => {
    const N = 300;
    const { v, stable, canary } = await pools({ weight: 30, seed: 12345 });
    // One pool draw per request (one target per pool: the balancer draws nothing).
    const replay = seededRandom(12345);
    let expected = 0;
    for (let i = 0; i < N; i++) if (replay() * 10_000 < 3000) expected++;
    const seen = await sendMany(v, N);
    expect(seen.canary).toBe(expected);
    expect(seen.stable).toBe(N - expected);
    expect(canary.hits).toBe(expected);
    expect(stable.hits).toBe(N - expected);
    // A sanity bound on the PRNG itself so the test cannot pass vacuously.
    expect(expected).toBeGreaterThan(60);
    expect(expected).toBeLessThan(120);
  });

  it('hands the canary share to stable while the canary pool has no targets', async () => {
    const stable = await h.upstream('stable');
    const v = await h.veer({
      services: [service('web', [stable.address], [], { weight: 100, sticky: { cookie: 'veer-web' } })],
    });
    for (let i = 0; i < 5; i++) expect((await poolOf(v)).pool).toBe('stable');
    expect(stable.hits).toBe(5);
  });
});

describe('sticky cookie', () => {
  it('is minted with its attributes, set again unchanged while the service is split, and keeps its pool', async () => {
    const { v } = await pools({ weight: 50, sticky: true, seed: 99 });
    const first = await http(`${v.url}/`);
    const setCookie = first.headers['set-cookie']?.[0] ?? '';
    expect(setCookie).toMatch(/^veer-web=\d{1,4}; Path=\/; Max-Age=86400; HttpOnly; SameSite=Lax$/);
    const expectedBucket = Math.floor(seededRandom(99)() * 10_000);
    const cookie = setCookie.split(';')[0] as string;
    expect(cookie).toBe(`veer-web=${expectedBucket}`);
    const pool = first.headers['x-upstream'];
    expect(pool).toBe(expectedBucket < 5000 ? 'canary' : 'stable');
    for (let i = 0; i < 20; i++) {
      const again = await poolOf(v, { cookie: `other=1; ${cookie}` });
      expect(again.pool).toBe(pool);
      // Its Max-Age starts again: a cookie must not expire in the middle of a rollout and draw its client anew.
      expect(again.setCookie).toEqual([setCookie]);
    }
    // Not split (weight 0 or 100): a returning client's cookie is left as it is.
    for (const weight of [0, 100]) {
      const whole = await pools({ weight, sticky: true });
      expect((await poolOf(whole.v, { cookie })).setCookie, `weight ${weight}`).toBeUndefined();
    }
  });

  it("is added next to the upstream's own Set-Cookie headers", async () => {
    const { v, stable, canary } = await pools({ weight: 0, sticky: true });
    for (const u of [stable, canary]) {
      u.behave({
        handler: (_req, res) => {
          res.setHeader('set-cookie', ['session=abc; Path=/', 'theme=dark; Path=/']);
          res.setHeader('x-upstream', u.name);
          res.end('ok');
        },
      });
    }
    const r = await http(`${v.url}/`);
    expect(r.headers['set-cookie']).toEqual([
      'session=abc; Path=/',
      'theme=dark; Path=/',
      expect.stringMatching(/^veer-web=\d+; Path=\/;/),
    ]);
  });

  it('is monotonic: canary clients at 10% stay canary at 25%; at 0% everyone is stable', async () => {
    const { v } = await pools({ weight: 10, sticky: true, seed: 2024 });
    const clients = [];
    for (let i = 0; i < 150; i++) clients.push(await newClient(v));
    for (const c of clients) expect(c.pool).toBe(c.bucket < 1000 ? 'canary' : 'stable');
    const early = clients.filter((c) => c.pool === 'canary');
    expect(early.length).toBeGreaterThan(3);

    expect(v.plane.update('web', { weightBp: 2500 })).toBe(true);
    const later = [];
    for (const c of clients) {
      const { pool, setCookie } = await poolOf(v, { cookie: c.cookie });
      // The same bucket, never a new one: the client keeps its place as the weight grows.
      expect(setCookie?.map((x) => x.split(';')[0])).toEqual([c.cookie]);
      later.push({ ...c, pool });
    }
    for (const c of early) expect(later.find((l) => l.cookie === c.cookie)?.pool).toBe('canary');
    for (const c of later) expect(c.pool).toBe(c.bucket < 2500 ? 'canary' : 'stable');
    expect(later.filter((c) => c.pool === 'canary').length).toBeGreaterThan(early.length);

    v.plane.update('web', { weightBp: 0 });
    for (const c of early) expect((await poolOf(v, { cookie: c.cookie })).pool).toBe('stable');
  });
});

describe('override header', () => {
  it('is off by default: x-veer-pool from any client is ignored', async () => {
    const { v, canary } = await pools({ weight: 0 });
    for (let i = 0; i < 5; i++) expect((await poolOf(v, { 'x-veer-pool': 'canary' })).pool).toBe('stable');
    expect(canary.hits).toBe(0);
  });

  it('x-veer-pool forces a pool both ways and ignores other values', async () => {
    const on = { overrideHeader: 'x-veer-pool' };
    const zero = await pools({ weight: 0, sticky: true, proxy: on });
    const forced = await poolOf(zero.v, { 'x-veer-pool': 'canary' });
    expect(forced.pool).toBe('canary');
    expect(forced.setCookie).toBeUndefined(); // a forced request is not a sticky assignment
    expect((await poolOf(zero.v, { 'x-veer-pool': 'blue' })).pool).toBe('stable');

    const full = await pools({ weight: 100, proxy: on });
    expect((await poolOf(full.v, { 'x-veer-pool': 'stable' })).pool).toBe('stable');
    expect((await poolOf(full.v)).pool).toBe('canary');
    // The header still reaches the upstream: the proxy does not hide what the client sent.
    expect(full.stable.requests[0]?.headers['x-veer-pool']).toBe('stable');
  });

  it('is honoured only from peers in proxy.overrideFrom', async () => {
    const { v, canary } = await pools({
      weight: 0,
      proxy: { overrideHeader: 'x-veer-pool', overrideFrom: ['10.0.0.0/8'] },
    });
    for (let i = 0; i < 5; i++) expect((await poolOf(v, { 'x-veer-pool': 'canary' })).pool).toBe('stable');
    expect(canary.hits).toBe(0);
  });

  it('is ignored when proxy.overrideHeader is false', async () => {
    const { v, canary } = await pools({ weight: 0, proxy: { overrideHeader: false } });
    for (let i = 0; i < 5; i++) expect((await poolOf(v, { 'x-veer-pool': 'canary' })).pool).toBe('stable');
    expect(canary.hits).toBe(0);
  });

  it('uses a configured header name instead of the default', async () => {
    const { v } = await pools({ weight: 0, proxy: { overrideHeader: 'X-Release-Track' } });
    expect((await poolOf(v, { 'x-release-track': 'canary' })).pool).toBe('canary');
    expect((await poolOf(v, { 'x-veer-pool': 'canary' })).pool).toBe('stable');
  });
});
