import { describe, expect, it } from 'vitest';
import { generations, type Generations } from '../../../src/domain/generation.js';
import { addressOf, members, serviceGenerations, type DockerService } from '../../../src/docker/membership.js';
import { orphans } from '../../../src/docker/orphans.js';
import { containerView } from './fixtures/container-view.js';

const c = containerView;

const WEB: DockerService = { name: 'web', stable: { selector: { app: 'web' }, port: 8080 }, manageCanary: true };
const NONE: Generations = generations(null);
const host = (): string => '127.0.0.1';
const own = (gen: string, service = 'web', owner = 'veer'): Record<string, string> => ({
  app: 'web',
  'veer.service': service,
  'veer.pool': 'canary',
  'veer.rollout': gen,
  'veer.owner': owner,
});
const during = (stable: string | null, canary: string): Generations => ({
  stable,
  canary,
  retiring: null,
  hasCanary: true,
  hasRetiring: false,
});

describe('addressOf', () => {
  it('uses the published port, the engine host for 0.0.0.0, the network address, host networking', () => {
    expect(addressOf(c({ port: 32001 }), WEB.stable, 'h')).toBe('127.0.0.1:32001');
    expect(
      addressOf(c({ ports: { '8080/tcp': [{ hostIp: '0.0.0.0', hostPort: 32002 }] } }), WEB.stable, '10.0.0.5'),
    ).toBe('10.0.0.5:32002');
    expect(addressOf(c({ networks: { appnet: '172.20.0.9' } }), { ...WEB.stable, network: 'appnet' }, 'h')).toBe(
      '172.20.0.9:8080',
    );
    expect(addressOf(c({ networks: { appnet: 'fd00::9' } }), { ...WEB.stable, network: 'appnet' }, 'h')).toBe(
      '[fd00::9]:8080',
    );
    expect(addressOf(c({ ports: {}, networkMode: 'host' }), WEB.stable, '127.0.0.1')).toBe('127.0.0.1:8080');
    expect(addressOf(c({ ports: {} }), WEB.stable, 'h')).toBeNull();
    expect(addressOf(c({ networks: {} }), { ...WEB.stable, network: 'appnet' }, 'h')).toBeNull();
  });
});

describe('members', () => {
  it('stable = running, healthy (or no healthcheck) containers the selector finds; others are left out', () => {
    const list = [
      c({ port: 1 }),
      c({ port: 2, health: 'healthy' }),
      c({ port: 3, health: 'starting' }),
      c({ port: 4, health: 'unhealthy' }),
      c({ port: 5, running: false }),
      c({ port: 6, labels: { app: 'api' } }),
    ];
    const m = members(WEB, list, NONE, 'veer', host);
    expect(m.stable).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
    expect(m.canary).toEqual([]);
  });

  it('a `docker-compose run` one-off is in no pool, unless the selector asks for one-offs', () => {
    const oneoff = { app: 'web', 'com.docker.compose.oneoff': 'True' };
    const list = [
      c({ port: 1, labels: { app: 'web', 'com.docker.compose.oneoff': 'False' } }),
      c({ port: 2, labels: oneoff }),
    ];
    expect(members(WEB, list, NONE, 'veer', host).stable).toEqual(['127.0.0.1:1']);
    const runs: DockerService = { ...WEB, stable: { selector: oneoff, port: 8080 } };
    expect(members(runs, list, NONE, 'veer', host).stable).toEqual(['127.0.0.1:2']);
    // Nor does an old one-off decide which generation is stable when no rollout is recorded.
    const lone = [c({ labels: oneoff, created: 1 }), c({ labels: { ...own('r9'), app: 'web' }, created: 2 })];
    expect(serviceGenerations(null, lone, WEB, 'veer').stable).toBe('r9');
  });

  it("a rollout's clones carry the stable selector but route only as canary; the old generation stays stable", () => {
    const list = [c({ port: 1 }), c({ port: 2, labels: own('r1') })];
    expect(members(WEB, list, during(null, 'r1'), 'veer', host)).toMatchObject({
      stable: ['127.0.0.1:1'],
      canary: ['127.0.0.1:2'],
    });
    // Promoted: the clones are stable, the originals are routed nowhere.
    expect(
      members(
        WEB,
        list,
        generations({
          phase: 'succeeded',
          id: 'r1',
          docker: { image: 'x', env: [], count: 1, stableGeneration: null },
        } as never),
        'veer',
        host,
      ),
    ).toMatchObject({
      stable: ['127.0.0.1:2'],
      canary: [],
    });
  });

  it("clones of another installation (owner) are not this service's canary", () => {
    const list = [c({ port: 2, labels: own('r1', 'web', 'other') })];
    expect(members(WEB, list, during(null, 'r1'), 'veer', host).canary).toEqual([]);
  });

  it('a user-managed canary selector narrower than the stable one takes its containers out of stable', () => {
    const svc: DockerService = { ...WEB, canary: { selector: { app: 'web', track: 'canary' }, port: 8080 } };
    const list = [c({ port: 1 }), c({ port: 2, labels: { app: 'web', track: 'canary' } })];
    expect(members(svc, list, NONE, 'veer', host)).toMatchObject({ stable: ['127.0.0.1:1'], canary: ['127.0.0.1:2'] });
  });

  it('static canary targets in the config: the canary pool is not managed here', () => {
    expect(members({ ...WEB, manageCanary: false }, [c()], NONE, 'veer', host).canary).toBeNull();
  });

  it('an endpoint restriction and unreachable containers are reported, not routed', () => {
    const m = members(
      { ...WEB, stable: { ...WEB.stable, endpoint: 'local' } },
      [c({ port: 1, endpoint: 'remote' }), c({ ports: {}, name: 'noport' })],
      NONE,
      'veer',
      host,
    );
    expect(m.stable).toEqual([]);
    expect(m.problems).toEqual([
      expect.stringContaining('container noport (local) publishes no host port for 8080/tcp'),
    ]);
  });
});

describe('orphans', () => {
  const gens = new Map<string, Generations>([['web', during('r1', 'r2')]]);
  it('only containers with this owner label are candidates; live generations are kept', () => {
    const list = [
      c({ name: 'user-made', labels: { app: 'web' } }),
      c({ name: 'other-owner', labels: own('r0', 'web', 'someone-else') }),
      c({ name: 'stable-r1', labels: own('r1') }),
      c({ name: 'canary-r2', labels: own('r2') }),
      c({ name: 'old-r0', labels: own('r0') }),
      c({ name: 'gone-service', labels: own('r9', 'api') }),
    ];
    const o = orphans(list, gens, 'veer');
    expect(o.map((x) => x.container.name)).toEqual(['gone-service', 'old-r0']);
    expect(o[0]?.reason).toBe('service "api" is no longer configured');
    expect(o[1]?.reason).toContain('generation r0 of "web" is neither stable (r1)');
  });

  it('a generation being removed by the controller is not garbage while it does so', () => {
    const g = new Map<string, Generations>([
      ['web', { stable: 'r2', canary: null, retiring: 'r1', hasCanary: false, hasRetiring: true }],
    ]);
    expect(orphans([c({ labels: own('r1') })], g, 'veer')).toEqual([]);
  });
});

describe('serviceGenerations without a rollout record', () => {
  it('infers the stable generation from the oldest running container: a lost record keeps the live pool', () => {
    const promoted = [c({ labels: own('r1'), created: 2_000 }), c({ labels: own('r1'), created: 2_100 })];
    expect(serviceGenerations(null, promoted, WEB, 'veer').stable).toBe('r1');
    expect(members(WEB, promoted, serviceGenerations(null, promoted, WEB, 'veer'), 'veer', host).stable).toHaveLength(
      2,
    );
    expect(orphans(promoted, new Map([['web', serviceGenerations(null, promoted, WEB, 'veer')]]), 'veer')).toEqual([]);
    // Interrupted mid-rollout and the record lost: the older generation is stable, the newer one is not.
    const mixed = [c({ created: 1_000 }), c({ labels: own('r2'), created: 5_000 })];
    expect(serviceGenerations(null, mixed, WEB, 'veer').stable).toBeNull();
    // Stopped containers do not count.
    expect(
      serviceGenerations(null, [c({ labels: own('r1'), created: 1, running: false }), c({ created: 9 })], WEB, 'veer')
        .stable,
    ).toBeNull();
  });

  it('a record of an image rollout wins over the containers', () => {
    const latest = {
      phase: 'succeeded',
      id: 'r3',
      docker: { image: 'x', env: [], count: 1, stableGeneration: 'r1' },
    } as never;
    expect(serviceGenerations(latest, [c({ labels: own('r1'), created: 1 })], WEB, 'veer').stable).toBe('r3');
  });
});

describe('serviceGenerations after compose recreated the promoted containers', () => {
  const promoted = (phase: string) =>
    ({
      phase,
      id: 'r1',
      startedAt: 1_000,
      docker: { image: 'app:2', env: [], count: 2, stableGeneration: null },
    }) as never;

  it('none of the promoted generation runs: the newest generation started since is stable (cloned next)', () => {
    const recreated = [c({ created: 500 }), c({ created: 9_000 }), c({ created: 9_100 })];
    expect(serviceGenerations(promoted('succeeded'), recreated, WEB, 'veer').stable).toBeNull();
    const relabelled = [c({ labels: own('r0'), created: 500 }), c({ labels: { app: 'web', v: '3' }, created: 9_000 })];
    expect(serviceGenerations(promoted('succeeded'), relabelled, WEB, 'veer').stable).toBeNull();
  });

  it('while the promoted generation still runs, or the rollout is not over, the record decides', () => {
    const mixed = [c({ labels: own('r1'), created: 2_000 }), c({ created: 9_000 })];
    expect(serviceGenerations(promoted('succeeded'), mixed, WEB, 'veer').stable).toBe('r1');
    expect(serviceGenerations(promoted('promoting'), [c({ created: 9_000 })], WEB, 'veer').stable).toBe('r1');
    // Nothing newer than the rollout: the record's generation stays (nothing to clone is said by the fleet).
    expect(serviceGenerations(promoted('succeeded'), [c({ created: 500 })], WEB, 'veer').stable).toBe('r1');
  });
});
