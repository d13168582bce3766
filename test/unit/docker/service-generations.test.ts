import { describe, expect, it } from 'vitest';
import { serviceGenerations, type DockerService } from '../../../src/docker/membership.js';
import { orphans } from '../../../src/docker/orphans.js';
import type { RolloutState } from '../../../src/domain/rollout.js';
import { containerView } from './fixtures/container-view.js';

const c = containerView;

const WEB: DockerService = { name: 'web', stable: { selector: { app: 'web' }, port: 8080 }, manageCanary: true };
const own = (gen: string): Record<string, string> => ({
  app: 'web',
  'veer.service': 'web',
  'veer.rollout': gen,
  'veer.owner': 'veer',
});
const rollout = (phase: string, id: string, stableGeneration: string | null): RolloutState =>
  ({ phase, id, startedAt: 1_000, docker: { image: 'app:2', env: [], count: 1, stableGeneration } }) as never;

describe('serviceGenerations never takes a rejected canary for the stable generation', () => {
  it('rolled back, its canary left running and no container of the real stable running: stable stays r1', () => {
    for (const phase of ['rolled-back', 'aborted']) {
      const stopped = c({ labels: own('r1'), created: 500, running: false });
      const rejected = c({ labels: own('r2'), created: 2_000 });
      const gens = serviceGenerations(rollout(phase, 'r2', 'r1'), [stopped, rejected], WEB, 'veer');
      expect(gens.stable).toBe('r1');
      // What prune/reconcile then removes: the rejected canary, never the real stable container.
      expect(orphans([stopped, rejected], new Map([['web', gens]]), 'veer').map((o) => o.container.name)).toEqual([
        rejected.name,
      ]);
    }
  });

  it('what the user started since is stable, even when the rejected canary is newer', () => {
    const user = c({ created: 2_000 });
    const rejected = c({ labels: own('r2'), created: 3_000 });
    expect(serviceGenerations(rollout('rolled-back', 'r2', 'r1'), [user, rejected], WEB, 'veer').stable).toBeNull();
  });

  it('a user canary (its own selector) started since is not the stable generation, as routing says', () => {
    const svc: DockerService = { ...WEB, canary: { selector: { app: 'web', track: 'canary' }, port: 8080 } };
    const canary = c({ labels: { app: 'web', track: 'canary', v: '3' }, created: 3_000 });
    const old = c({ labels: own('r0'), created: 500 });
    const latest = rollout('succeeded', 'r1', null);
    expect(serviceGenerations(latest, [old, canary], svc, 'veer').stable).toBe('r1');
    expect(serviceGenerations(null, [canary, c({ labels: own('r0'), created: 4_000 })], svc, 'veer').stable).toBe('r0');
  });
});
