// The retirement's guard against a real dockerd: the old stable pool is removed only while the new generation
// has a running container. A promotion whose canary containers vanished (compose `up -d` recreated them from
// the file) used to remove the whole stable pool and leave the service with nothing. Skipped when no engine
// answers, unless VEER_REQUIRE_DOCKER=1.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { DockerFleet } from '../../../src/docker/fleet.js';
import { LABEL } from '../../../src/docker/port.js';
import { systemClock } from '../../../src/domain/clock.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import { Retirement } from '../../../src/rollout/retirement.js';
import { dockerSuite, removeContainer, runTestApp } from '../../helpers/docker.js';
import { containerExists as exists, localEngine } from './local-engine.js';

const suite = await dockerSuite('docker/retire-guard.test');
const made: string[] = [];

afterAll(async () => {
  await Promise.all(made.map((id) => removeContainer(id)));
});

/** A promoting image rollout `id` of service web away from the user's (unlabelled) containers labelled app. */
function promoting(id: string, startedAt: number): RolloutState {
  return {
    id,
    service: 'web',
    phase: 'promoting',
    startedAt,
    canaryTargets: [],
    stableTargets: [],
    policy: { healthTimeout: 10_000, drainTimeout: 1_000 },
    docker: { image: 'veer-test-app:2', env: [], count: 1, stableGeneration: null },
  } as unknown as RolloutState;
}

async function setup(app: string, s: RolloutState) {
  const engine = localEngine();
  const fleet = new DockerFleet({
    engines: [engine],
    services: new Map([
      ['web', { docker: { name: 'web', stable: { selector: { app }, port: 8080 }, manageCanary: true }, health: null }],
    ]),
    owner: `owner-${app}`,
    stopTimeoutS: 1,
    latest: () => s,
    clock: systemClock,
    log: { log: () => undefined },
  });
  const said: string[] = [];
  const retirement = new Retirement({
    emit: (e) => void said.push(e.message),
    routeOf: () => null,
    acks: { waitClear: () => Promise.resolve({ clear: true, pending: [] }) },
    fleet,
    stopLaunch: () => Promise.resolve(),
  });
  const run = async (labels: Record<string, string>): Promise<string> => {
    const c = await runTestApp({ labels, waitReady: false });
    made.push(c.id);
    return c.id;
  };
  return { engine, retirement, said, run };
}

suite('Retirement of the old stable pool', () => {
  it('keeps the stable containers when the new generation has no running container', async () => {
    const app = `veer-t-guard-${randomBytes(3).toString('hex')}`;
    const s = promoting('r-guard-gone', Date.now() + 60_000);
    const { engine, retirement, run } = await setup(app, s);
    try {
      const stable = [await run({ app }), await run({ app })];
      const end = await retirement.retire(s, 'old-stable');
      expect(end.type).toBe('canary-gone');
      expect(end).toMatchObject({ reason: expect.stringContaining('has no running container') });
      for (const id of stable) expect(await exists(id)).toBe(true);
    } finally {
      engine.close();
    }
  });

  it('removes them once the new generation runs', async () => {
    const app = `veer-t-guard-${randomBytes(3).toString('hex')}`;
    const s = promoting('r-guard-runs', Date.now() + 60_000);
    const { engine, retirement, run } = await setup(app, s);
    try {
      const stable = await run({ app });
      const canary = await run({
        app,
        [LABEL.owner]: `owner-${app}`,
        [LABEL.service]: 'web',
        [LABEL.rollout]: s.id,
      });
      expect(await retirement.retire(s, 'old-stable')).toEqual({ type: 'drained' });
      expect(await exists(stable)).toBe(false);
      expect(await exists(canary)).toBe(true);
    } finally {
      engine.close();
    }
  });
});
