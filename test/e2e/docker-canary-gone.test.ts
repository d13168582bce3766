// An image rollout whose canary containers vanish (compose `up -d` recreates veer's clones from the file, someone
// runs `docker rm`): the stable pool is all the service has. A promotion then is refused (409 canary_gone) - it
// used to be accepted and remove every stable container - and the rollout, once it analyses again, rolls back
// with the reason. (The retirement's own guard: test/integration/docker/retire-guard.test.ts.)
import { expect, it } from 'vitest';
import { docker, dockerSuite } from '../helpers/docker.js';
import {
  adminCall,
  containersOf,
  startStable,
  useDockerApps,
  waitPhase,
  waitPoolSize,
} from '../helpers/docker-veer.js';

const suite = await dockerSuite('docker-canary-gone.test');
const d = useDockerApps();

suite('a rollout whose canary containers are gone', () => {
  it(
    'refuses a promotion, then rolls back on its next analysis; no stable container is removed',
    {
      timeout: 120_000,
    },
    async () => {
      const a = d.app('gone');
      const stable = await startStable(a, 2);
      // Never enough requests to judge: nothing but the missing canary can end this rollout.
      const v = await d.veer({ app: a, owner: `t-${a}`, rollout: { minRequests: 1_000_000 } });
      await waitPoolSize(v.admin, 'stable', 2);
      const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2' },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      await waitPhase(v.admin, ['progressing'], 60_000);
      expect((await adminCall(v.admin, 'POST', '/v1/services/web/rollout/pause', {})).status).toBe(200);

      const canaries = (await containersOf(a)).filter((c) => c.rollout === started.body.id);
      expect(canaries).toHaveLength(2);
      for (const c of canaries) await docker().getContainer(c.id).remove({ force: true });
      await waitPoolSize(v.admin, 'canary', 0);

      const promote = await adminCall(v.admin, 'POST', '/v1/services/web/rollout/promote', { full: true });
      expect(promote.status).toBe(409);
      expect(promote.body.error).toMatchObject({
        code: 'canary_gone',
        message: expect.stringContaining('has no running container'),
      });
      expect((await adminCall(v.admin, 'GET', '/v1/services/web')).body.rollout.phase).toBe('paused');

      expect((await adminCall(v.admin, 'POST', '/v1/services/web/rollout/resume', {})).status).toBe(200);
      const done = await waitPhase(v.admin, ['succeeded', 'rolled-back', 'aborted'], 30_000);
      expect(done.phase).toBe('rolled-back');
      expect(done.reason).toContain('the canary containers are gone');
      const left = await containersOf(a);
      expect(left.map((c) => [c.id, c.state]).sort()).toEqual(stable.map((s) => [s.id, 'running']).sort());
      await waitPoolSize(v.admin, 'stable', 2);
    },
  );
});
