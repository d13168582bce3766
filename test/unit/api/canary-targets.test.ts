// The canary's static targets as the admin API takes them: another spelling of veer's own address is
// refused like the address itself, and a canary is a bounded list.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { MAX_CANARY_TARGETS } from '../../../src/api/routes/rollouts.js';
import { silentLogger } from '../../../src/domain/log.js';
import { FakeDirectory, FakeRollouts, fakeDeps, fakeService } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

async function post(targets: string[]) {
  const directory = new FakeDirectory([fakeService('web')]);
  const rollouts = new FakeRollouts((n) => directory.get(n) !== undefined);
  const app = buildApp(fakeDeps(directory, { rollouts }), { logger: silentLogger });
  apps.push(app);
  const res = await app.inject({
    method: 'POST',
    url: '/v1/services/web/rollouts',
    payload: JSON.stringify({ canary: { targets } }),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.statusCode, body: res.json() as { error?: { problems?: unknown[] } }, starts: rollouts.starts };
}

describe('canary targets in POST /v1/services/:name/rollouts', () => {
  it('refuses the numeric spellings of an IPv4 address and the unspecified address, naming the index', async () => {
    for (const bad of ['127.1:9090', '2130706433:9090', '0x7f000001:9090', '0.0.0.0:9002', '[::]:9002']) {
      const r = await post(['127.0.0.1:9001', bad]);
      expect(r.status).toBe(400);
      expect(r.body.error?.problems).toEqual([{ path: 'canary.targets[1]', message: expect.stringContaining(bad) }]);
      expect(r.starts).toHaveLength(0);
    }
  });

  it(`takes up to ${MAX_CANARY_TARGETS} targets`, async () => {
    const targets = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.0.${i >> 8}.${i & 255}:80`);
    expect((await post(targets(MAX_CANARY_TARGETS))).status).toBe(201);
    const over = await post(targets(MAX_CANARY_TARGETS + 1));
    expect(over.status).toBe(400);
    expect(over.body.error?.problems).toEqual([
      { path: 'canary.targets', message: `at most ${MAX_CANARY_TARGETS} targets` },
    ]);
  });
});
