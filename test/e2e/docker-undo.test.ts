// `undo` of an image rollout against the real Docker engine: after version 2 was promoted (and the
// version 1 containers removed), undo recreates the previous generation - its image, its whole env,
// as many containers - through a short rollout under live traffic; and refuses with a 409 once the
// previous image is no longer on the engine (nothing can be pulled here).
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { docker, dockerSuite } from '../helpers/docker.js';
import {
  adminCall,
  containersOf,
  startStable,
  useDockerApps,
  waitPhase,
  waitPoolSize,
  type DockerVeer,
} from '../helpers/docker-veer.js';
import { waitFor } from '../helpers/process.js';
import { startTraffic, type Traffic } from '../helpers/traffic.js';

const suite = await dockerSuite('docker-undo.test');
const d = useDockerApps();
const ENDED = ['succeeded', 'rolled-back', 'aborted'];

async function promoteVersion2(v: DockerVeer): Promise<string> {
  const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
    canary: { image: 'veer-test-app:2', env: ['GREETING=two'] },
  });
  expect(started.status, JSON.stringify(started.body)).toBe(201);
  const done = await waitPhase(v.admin, ENDED, 80_000);
  expect(done.phase, done.reason).toBe('succeeded');
  return done.id as string;
}

function traffic(v: DockerVeer): Traffic {
  return startTraffic({ url: v.url, rps: 60, maxMs: 150_000, upstreamHeader: 'x-app-version' });
}

suite('undo of an image rollout', () => {
  it(
    'recreates the previous image with its env and count; traffic goes back to version 1',
    { timeout: 180_000 },
    async () => {
      const a = d.app('undo');
      const stable = await startStable(a, 2, { env: { GREETING: 'one' } });
      const v = await d.veer({ app: a, owner: `t-${a}` });
      await waitPoolSize(v.admin, 'stable', 2);
      const t = traffic(v);
      try {
        const promoted = await promoteVersion2(v);
        const gone = await containersOf(a);
        expect(gone.filter((c) => stable.some((s) => s.id === c.id))).toEqual([]);

        const undo = await adminCall(v.admin, 'POST', '/v1/services/web/rollout/undo');
        expect(undo.status, JSON.stringify(undo.body)).toBe(201);
        const done = await waitPhase(v.admin, ENDED, 80_000);
        expect([done.id, done.phase], done.reason).toEqual([undo.body.id, 'succeeded']);
        const after = await containersOf(a);
        expect(after.map((c) => [c.rollout, c.state, c.image])).toEqual([
          [undo.body.id, 'running', 'veer-test-app:1'],
          [undo.body.id, 'running', 'veer-test-app:1'],
        ]);
        // The previous generation's env as it was: version 1's own, the operator's GREETING, not version 2's.
        const info = await docker()
          .getContainer(after[0]?.id as string)
          .inspect();
        expect(info.Config.Env).toEqual(expect.arrayContaining(['VERSION=1', 'GREETING=one', 'PORT=8080']));
        expect(info.Config.Env).not.toContain('GREETING=two');
        expect(info.Config.Env).not.toContain('VERSION=2');

        const before = t.snapshot();
        await waitFor(() => t.snapshot().completed >= before.completed + 60, { timeoutMs: 10_000, what: '60 more' });
        const report = await t.stop();
        expect(report.byUpstream['2'] ?? 0).toBe(before.byUpstream['2'] ?? 0);
        const history = await adminCall(v.admin, 'GET', '/v1/services/web/rollouts');
        expect(history.body.rollouts.map((e: { id: string; phase: string }) => [e.id, e.phase])).toEqual([
          [undo.body.id, 'succeeded'],
          [promoted, 'succeeded'],
        ]);
        expect(history.body.rollouts[0]).toMatchObject({
          origin: { kind: 'undo', of: promoted },
          canary: { image: 'veer-test-app:1', env: [], count: 2 },
          stable: { generation: promoted, image: 'veer-test-app:2', count: 2 },
        });
        expect(history.body.rollouts[1].stable).toEqual({ generation: null, image: 'veer-test-app:1', count: 2 });
      } finally {
        await t.stop();
      }
    },
  );

  it('answers 409 when the previous image is no longer on the engine', { timeout: 150_000 }, async () => {
    // The stable containers run a tag of their own, removed after the promotion (the image stays
    // under its other tags, so nothing else on the engine is touched).
    const tag = `veer-test-undo-${randomUUID().slice(0, 8)}:1`;
    const [repo, version] = tag.split(':') as [string, string];
    await docker().getImage('veer-test-app:1').tag({ repo, tag: version });
    const a = d.app('undo-gone');
    try {
      await startStable(a, 1, { image: tag });
      const v = await d.veer({ app: a, owner: `t-${a}` });
      await waitPoolSize(v.admin, 'stable', 1);
      const t = traffic(v);
      try {
        await promoteVersion2(v);
      } finally {
        await t.stop();
      }
      await docker().getImage(tag).remove();
      const undo = await adminCall(v.admin, 'POST', '/v1/services/web/rollout/undo');
      expect(undo.status).toBe(409);
      expect(undo.body.error.code).toBe('undo_unavailable');
      expect(undo.body.error.message).toContain(`image ${tag} of the previous generation is no longer on docker`);
      expect((await containersOf(a)).map((c) => c.image)).toEqual(['veer-test-app:2']);
    } finally {
      await docker()
        .getImage(tag)
        .remove()
        .catch(() => undefined);
    }
  });
});
