import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { selfTargetProblems } from '../../../src/api/routes/rollouts.js';
import { silentLogger } from '../../../src/domain/log.js';
import type { TargetAddress } from '../../../src/domain/target.js';
import { FakeDirectory, FakeRollouts, fakeDeps, fakeService } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

/** veer "listens" on 127.0.0.1:8080 in these tests. */
const isSelf = (t: TargetAddress): string | null =>
  t.port === 8080 && ['127.0.0.1', 'localhost'].includes(t.host)
    ? "veer's own data-plane listener 127.0.0.1:8080: traffic would loop"
    : null;

function setup() {
  const directory = new FakeDirectory([fakeService('web')]);
  const rollouts = new FakeRollouts((n) => directory.get(n) !== undefined);
  const app = buildApp(fakeDeps(directory, { rollouts, isSelf }), { logger: silentLogger });
  apps.push(app);
  return { app, rollouts };
}

const start = (app: FastifyInstance, payload: unknown) =>
  app.inject({
    method: 'POST',
    url: '/v1/services/web/rollouts',
    payload: JSON.stringify(payload),
    headers: { 'content-type': 'application/json' },
  });

describe('selfTargetProblems', () => {
  it('one problem per self target, at its index; image canaries have none', () => {
    expect(selfTargetProblems({ targets: ['127.0.0.1:9001', 'localhost:8080', '127.0.0.1:8080'] }, isSelf)).toEqual([
      { path: 'canary.targets[1]', message: "is veer's own data-plane listener 127.0.0.1:8080: traffic would loop" },
      { path: 'canary.targets[2]', message: "is veer's own data-plane listener 127.0.0.1:8080: traffic would loop" },
    ]);
    expect(selfTargetProblems({ image: 'app:2', env: [], count: null }, isSelf)).toEqual([]);
  });
});

describe('POST /v1/services/:name/rollouts with veer itself as a canary', () => {
  it('is refused 400 naming the field, and never reaches the controller', async () => {
    const { app, rollouts } = setup();
    const res = await start(app, { canary: { targets: ['127.0.0.1:9001', 'localhost:8080'] } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toEqual({
      error: {
        code: 'invalid_request',
        message: "canary.targets[1]: is veer's own data-plane listener 127.0.0.1:8080: traffic would loop",
        problems: [
          {
            path: 'canary.targets[1]',
            message: "is veer's own data-plane listener 127.0.0.1:8080: traffic would loop",
          },
        ],
      },
    });
    expect(rollouts.starts).toEqual([]);
  });

  it('other targets still start a rollout', async () => {
    const { app, rollouts } = setup();
    expect((await start(app, { canary: { targets: ['127.0.0.1:9001'] } })).statusCode).toBe(201);
    expect(rollouts.starts).toHaveLength(1);
  });
});
