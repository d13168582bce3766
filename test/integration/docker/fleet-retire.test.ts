// DockerFleet.retire against a real dockerd: promoting away from the user's (unlabelled) containers
// removes the ones that existed when the rollout began, and keeps one `compose up -d` recreated since,
// which routing keeps as stable (domain/route.ts). Skipped when no engine answers, unless
// VEER_REQUIRE_DOCKER=1.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { DockerFleet } from '../../../src/docker/fleet.js';
import { LABEL } from '../../../src/docker/port.js';
import { systemClock } from '../../../src/domain/clock.js';
import { pickPools } from '../../../src/domain/route.js';
import { generations } from '../../../src/domain/generation.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import { dockerSuite, removeContainer, runTestApp } from '../../helpers/docker.js';
import { containerExists as exists, localEngine } from './local-engine.js';

const suite = await dockerSuite('docker/fleet-retire.test');
const APP = `veer-t-retire-${randomBytes(3).toString('hex')}`;
const made: string[] = [];

afterAll(async () => {
  await Promise.all(made.map((id) => removeContainer(id)));
});

suite('DockerFleet.retire of the unlabelled stable generation', () => {
  it('keeps a user container started after the rollout began: routing has it stable, not draining', async () => {
    const engine = localEngine();
    const run = async (): Promise<string> => {
      const app = await runTestApp({ labels: { app: APP }, waitReady: false });
      made.push(app.id);
      return app.id;
    };
    const before = await run();
    const [first] = await engine.list({ all: true, labels: { app: APP } });
    if (!first) throw new Error('the first user container is not listed');
    // The rollout began after the first container (engine times are ms; the second is created later).
    const latest = {
      id: 'r-retire',
      service: 'web',
      phase: 'promoting',
      startedAt: first.created,
      policy: { healthTimeout: 10_000 },
      docker: { image: 'veer-test-app:2', env: [], count: 1, stableGeneration: null },
    } as unknown as RolloutState;
    const since = await run();
    const views = await engine.list({ all: false, labels: { app: APP } });
    const routed = pickPools(
      views.map((v) => ({
        address: v.id,
        generation: v.labels[LABEL.rollout] ?? null,
        created: v.created,
        role: 'selected',
      })),
      generations(latest),
      { rolloutId: latest.id, startedAt: latest.startedAt },
    );
    expect(routed).toMatchObject({ stable: [since], draining: [before] });

    const stable = { selector: { app: APP }, port: 8080 };
    const fleet = new DockerFleet({
      engines: [engine],
      services: new Map([['web', { docker: { name: 'web', stable, manageCanary: true }, health: null }]]),
      owner: `owner-${APP}`,
      stopTimeoutS: 1,
      latest: () => latest,
      clock: systemClock,
      log: { log: () => undefined },
    });
    try {
      await fleet.retire('web', null);
      expect(await exists(before)).toBe(false);
      expect(await exists(since)).toBe(true);
    } finally {
      engine.close();
    }
  });
});
