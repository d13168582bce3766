// What a Docker pool's selector takes in, against a real dockerd. A `docker-compose run` one-off carries its
// service's labels (com.docker.compose.oneoff=True) but runs its own command (a migration): it used to be
// cloned as a canary and removed by a promotion. A stopped container of the user's, never routed, used to be
// removed by a promotion too. Skipped when no engine answers, unless VEER_REQUIRE_DOCKER=1.
import { randomBytes } from 'node:crypto';
import { afterAll, expect, it } from 'vitest';
import { DockerFleet } from '../../../src/docker/fleet.js';
import { LABEL } from '../../../src/docker/port.js';
import { systemClock } from '../../../src/domain/clock.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import { docker, dockerSuite, removeContainer, runTestApp } from '../../helpers/docker.js';
import { containerExists as exists, localEngine } from './local-engine.js';

const suite = await dockerSuite('docker/fleet-selector.test');
const APP = `veer-t-select-${randomBytes(3).toString('hex')}`;
const ONEOFF = 'com.docker.compose.oneoff';
const made: string[] = [];

afterAll(async () => {
  await Promise.all(made.map((id) => removeContainer(id)));
});

async function run(labels: Record<string, string>, stopped = false): Promise<string> {
  const app = await runTestApp({ labels: { app: APP, ...labels }, waitReady: false });
  made.push(app.id);
  if (stopped) await docker().getContainer(app.id).stop({ t: 1 });
  return app.id;
}

suite('DockerFleet and a compose selector', () => {
  it('clones and removes neither one-offs nor the user stopped containers; its own stopped clones go', async () => {
    const engine = localEngine();
    const latest = {
      id: 'r-select',
      service: 'web',
      phase: 'promoting',
      startedAt: Date.now() + 60_000,
      policy: { healthTimeout: 10_000 },
      docker: { image: 'veer-test-app:2', env: [], count: 1, stableGeneration: null },
    } as unknown as RolloutState;
    const fleet = new DockerFleet({
      engines: [engine],
      services: new Map([
        [
          'web',
          { docker: { name: 'web', stable: { selector: { app: APP }, port: 8080 }, manageCanary: true }, health: null },
        ],
      ]),
      owner: `owner-${APP}`,
      stopTimeoutS: 1,
      latest: () => latest,
      clock: systemClock,
      log: { log: () => undefined },
    });
    try {
      const web = await run({ [ONEOFF]: 'False' });
      const oneoff = await run({ [ONEOFF]: 'True' });
      const stopped = await run({ [ONEOFF]: 'False' }, true);
      const own = { [LABEL.owner]: `owner-${APP}`, [LABEL.service]: 'web', [LABEL.rollout]: 'r-old' };
      const clone = await run(own, true);

      expect((await fleet.describe('web', null))?.count).toBe(1);
      await fleet.retire('web', null);
      expect([await exists(web), await exists(oneoff), await exists(stopped)]).toEqual([false, true, true]);
      await fleet.retire('web', 'r-old');
      expect(await exists(clone)).toBe(false);
    } finally {
      engine.close();
    }
  });
});
