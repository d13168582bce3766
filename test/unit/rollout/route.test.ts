// routeFor is the projection every replica computes from the persisted inputs: table-driven checks of
// each input's say over the weight, the pools and what is drained.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { DockerRollout, Phase, RolloutState } from '../../../src/domain/rollout.js';
import {
  routeFor,
  sameRoute,
  type ManualWeight,
  type Member,
  type Route,
  type RoutedService,
} from '../../../src/domain/route.js';
import { newRollout } from '../../../src/rollout/machine.js';

const T0 = 1_700_000_000_000;
const HASH = 'cfg-hash-1';

// Static targets: the config's lists (deliberately unsorted: their order is kept) and a rollout's own lists.
const CFG_STABLE = ['10.0.0.2:80', '10.0.0.1:80'];
const CFG_CANARY = ['10.0.0.9:80'];
const R_STABLE = ['10.0.1.2:80', '10.0.1.1:80'];
const R_CANARY = ['10.0.2.2:80', '10.0.2.1:80'];
/** Static lists keep their order: the balancer breaks ties by it. */
const inOrder = (ids: readonly string[]): string[] => [...ids];

const staticService: RoutedService = {
  name: 'web',
  stable: CFG_STABLE,
  canary: CFG_CANARY,
  weightBp: 1000,
  configHash: HASH,
  docker: null,
};

function dockerService(manageCanary: boolean): RoutedService {
  return {
    name: 'web',
    stable: [],
    canary: manageCanary ? [] : ['10.9.9.9:80'],
    weightBp: 0,
    configHash: HASH,
    docker: { manageCanary },
  };
}

/** A rollout record in any phase (the projection reads records, however they were reached). */
function rollout(phase: Phase, o: Partial<RolloutState> = {}): RolloutState {
  const policy = rolloutPolicySchema.parse({ retryCanaryOnStable: true });
  const base = newRollout(
    {
      id: 'r1',
      service: 'web',
      strategy: 'canary',
      policy,
      canaryTargets: R_CANARY,
      stableTargets: R_STABLE,
      stats: emptyStats(),
    },
    T0,
  );
  return { ...base, phase, weightBp: 2000, configHash: HASH, ...o };
}

const docker = (stableGeneration: string | null): DockerRollout => ({
  image: 'web:2',
  env: [],
  count: 2,
  stableGeneration,
});

/** An image rollout `r2` started from generation `g1` (Docker-backed services). */
const imageRollout = (phase: Phase, o: Partial<RolloutState> = {}): RolloutState =>
  rollout(phase, { id: 'r2', canaryTargets: [], stableTargets: [], docker: docker('g1'), ...o });

const member = (address: string, role: Member['role'], generation: string | null, created: number): Member => ({
  address,
  role,
  generation,
  created,
});

// The original compose container, a clone of generation g1 (stable), a clone of the rollout r2, a
// selected (user-made) container that happens to carry the r2 label, and a user-managed canary.
const A = '172.18.0.1:80';
const B = '172.18.0.2:80';
const C = '172.18.0.3:80';
const D = '172.18.0.4:80';
const U = '172.18.0.9:80';
// The originals predate the rollout (which starts at T0); its clones were made after.
const MEMBERS: Member[] = [
  member(U, 'canary', null, T0 - 10),
  member(A, 'selected', null, T0 - 3),
  member(B, 'clone', 'g1', T0 - 2),
  member(C, 'clone', 'r2', T0 + 3),
  member(D, 'selected', 'r2', T0 + 4),
];

interface Expect {
  weightBp: number;
  stable: string[];
  canary: string[];
  draining: string[];
  retry?: boolean | null;
}

function expectRoute(r: Route, e: Expect): void {
  expect(r).toEqual({
    weightBp: e.weightBp,
    stable: e.stable,
    canary: e.canary,
    draining: e.draining,
    retryCanaryOnStable: e.retry === undefined ? r.retryCanaryOnStable : e.retry,
    targeting: [],
    rolloutId: r.rolloutId,
  });
}

describe('routeFor: no rollout', () => {
  it('routes the config pools (in config order) at the config weight', () => {
    const r = routeFor({ service: staticService, manual: null, rollout: null, members: null });
    expectRoute(r, {
      weightBp: 1000,
      stable: inOrder(CFG_STABLE),
      canary: CFG_CANARY,
      draining: [],
      retry: null,
    });
  });

  it('deduplicates config targets', () => {
    const service = { ...staticService, stable: ['10.0.0.1:80', '10.0.0.1:80'] };
    expect(routeFor({ service, manual: null, rollout: null, members: null }).stable).toEqual(['10.0.0.1:80']);
  });
});

describe('routeFor: the manual weight', () => {
  const finished = rollout('succeeded', { weightBp: 10_000 });
  const active = rollout('progressing', { weightBp: 2000 });
  const rows: { name: string; manual: ManualWeight | null; latest: RolloutState | null; weightBp: number }[] = [
    {
      name: 'no rollout ever, set with after=null: applies',
      manual: { weightBp: 2500, after: null },
      latest: null,
      weightBp: 2500,
    },
    {
      name: 'no rollout on record, set after a rollout (record lost): config weight',
      manual: { weightBp: 2500, after: 'r0' },
      latest: null,
      weightBp: 1000,
    },
    {
      name: 'set after the latest (finished) rollout: applies',
      manual: { weightBp: 2500, after: 'r1' },
      latest: finished,
      weightBp: 2500,
    },
    {
      name: 'set before any rollout, a rollout finished since: overridden (0)',
      manual: { weightBp: 2500, after: null },
      latest: finished,
      weightBp: 0,
    },
    {
      name: 'set after an older rollout, a later one finished since: overridden (0)',
      manual: { weightBp: 2500, after: 'r0' },
      latest: finished,
      weightBp: 0,
    },
    {
      name: 'an active rollout overrides it even with after = its id',
      manual: { weightBp: 2500, after: 'r1' },
      latest: active,
      weightBp: 2000,
    },
    {
      name: 'an active later rollout overrides it',
      manual: { weightBp: 2500, after: null },
      latest: active,
      weightBp: 2000,
    },
    {
      name: 'a finished rollout and no manual weight: 0, not the config weight',
      manual: null,
      latest: finished,
      weightBp: 0,
    },
    {
      name: 'manual weight 0 set after the rollout: 0',
      manual: { weightBp: 0, after: 'r1' },
      latest: finished,
      weightBp: 0,
    },
  ];
  it.each(rows)('$name', ({ manual, latest, weightBp }) => {
    expect(routeFor({ service: staticService, manual, rollout: latest, members: null }).weightBp).toBe(weightBp);
  });

  it('also holds for Docker-backed services', () => {
    const service = dockerService(true);
    const done = imageRollout('succeeded');
    expect(
      routeFor({ service, manual: { weightBp: 700, after: 'r2' }, rollout: done, members: MEMBERS }).weightBp,
    ).toBe(700);
    expect(
      routeFor({ service, manual: { weightBp: 700, after: null }, rollout: done, members: MEMBERS }).weightBp,
    ).toBe(0);
  });
});

describe('routeFor: a static-target rollout, phase by phase', () => {
  const RS = inOrder(R_STABLE);
  const RC = inOrder(R_CANARY);
  const rows: { phase: Phase; stateWeight: number; want: Expect }[] = [
    { phase: 'starting', stateWeight: 0, want: { weightBp: 0, stable: RS, canary: RC, draining: [], retry: true } },
    {
      phase: 'progressing',
      stateWeight: 2000,
      want: { weightBp: 2000, stable: RS, canary: RC, draining: [], retry: true },
    },
    { phase: 'paused', stateWeight: 2500, want: { weightBp: 2500, stable: RS, canary: RC, draining: [], retry: true } },
    // The state's weight is ignored: a rollback or promotion sends nothing to a canary pool.
    {
      phase: 'rolling-back',
      stateWeight: 2000,
      want: { weightBp: 0, stable: RS, canary: [], draining: RC, retry: true },
    },
    {
      phase: 'promoting',
      stateWeight: 10_000,
      want: { weightBp: 0, stable: RC, canary: [], draining: RS, retry: true },
    },
    {
      phase: 'succeeded',
      stateWeight: 10_000,
      want: { weightBp: 0, stable: RC, canary: [], draining: [], retry: null },
    },
    { phase: 'rolled-back', stateWeight: 0, want: { weightBp: 0, stable: RS, canary: [], draining: [], retry: null } },
    { phase: 'aborted', stateWeight: 0, want: { weightBp: 0, stable: RS, canary: [], draining: [], retry: null } },
  ];
  it.each(rows)('$phase', ({ phase, stateWeight, want }) => {
    const r = routeFor({
      service: staticService,
      manual: null,
      rollout: rollout(phase, { weightBp: stateWeight }),
      members: null,
    });
    expectRoute(r, want);
  });

  it('never drains a target that stays in the other pool', () => {
    const shared = '10.0.1.1:80';
    const back = rollout('rolling-back', { canaryTargets: [shared, '10.0.2.1:80'] });
    expect(routeFor({ service: staticService, manual: null, rollout: back, members: null }).draining).toEqual([
      '10.0.2.1:80',
    ]);
    const promo = rollout('promoting', { canaryTargets: [shared, '10.0.2.1:80'] });
    const r = routeFor({ service: staticService, manual: null, rollout: promo, members: null });
    expect(r.stable).toEqual([shared, '10.0.2.1:80']);
    expect(r.draining).toEqual(['10.0.1.2:80']);
  });

  it('retryCanaryOnStable follows the rollout policy only while it is active', () => {
    const off = rolloutPolicySchema.parse({ retryCanaryOnStable: false });
    const at = (phase: Phase, policy = off): boolean | null =>
      routeFor({ service: staticService, manual: null, rollout: rollout(phase, { policy }), members: null })
        .retryCanaryOnStable;
    expect(at('progressing')).toBe(false);
    expect(at('paused')).toBe(false);
    expect(at('progressing', { ...off, retryCanaryOnStable: true })).toBe(true);
    expect(at('aborted', { ...off, retryCanaryOnStable: true })).toBeNull();
    expect(
      routeFor({ service: staticService, manual: null, rollout: null, members: null }).retryCanaryOnStable,
    ).toBeNull();
  });
});

describe('routeFor: a rollout started under other config lists', () => {
  it.each(['starting', 'progressing', 'paused', 'rolling-back', 'promoting', 'succeeded', 'aborted'] as Phase[])(
    '%s: the config pools win, nothing drained',
    (phase) => {
      const r = routeFor({
        service: staticService,
        manual: null,
        rollout: rollout(phase, { configHash: 'other-hash' }),
        members: null,
      });
      expect(r.stable).toEqual(inOrder(CFG_STABLE));
      expect(r.canary).toEqual(CFG_CANARY);
      expect(r.draining).toEqual([]);
    },
  );

  it('a record without configHash (written before it existed) keeps its pools', () => {
    const old = rollout('progressing');
    delete old.configHash;
    const r = routeFor({ service: staticService, manual: null, rollout: old, members: null });
    expect(r.stable).toEqual(inOrder(R_STABLE));
    expect(r.canary).toEqual(inOrder(R_CANARY));
  });
});

describe('routeFor: Docker-backed services', () => {
  const userCanary = [U];
  const rows: { phase: Phase; want: Omit<Expect, 'weightBp'> }[] = [
    { phase: 'starting', want: { stable: [B], canary: [C, U], draining: [] } },
    { phase: 'progressing', want: { stable: [B], canary: [C, U], draining: [] } },
    { phase: 'paused', want: { stable: [B], canary: [C, U], draining: [] } },
    // A selected container carrying the generation's label is removed with it, never a canary.
    { phase: 'rolling-back', want: { stable: [B], canary: userCanary, draining: [C, D] } },
    { phase: 'promoting', want: { stable: [C, D], canary: userCanary, draining: [B] } },
    { phase: 'succeeded', want: { stable: [C, D], canary: userCanary, draining: [] } },
    { phase: 'rolled-back', want: { stable: [B], canary: userCanary, draining: [] } },
    { phase: 'aborted', want: { stable: [B], canary: userCanary, draining: [] } },
  ];

  it.each(rows)('manageCanary, $phase: generations over members', ({ phase, want }) => {
    const r = routeFor({ service: dockerService(true), manual: null, rollout: imageRollout(phase), members: MEMBERS });
    expect({ stable: r.stable, canary: r.canary, draining: r.draining }).toEqual(want);
  });

  it.each(rows)(
    'static config canary, $phase: the config canary replaces the Docker canary pool',
    ({ phase, want }) => {
      const r = routeFor({
        service: dockerService(false),
        manual: null,
        rollout: imageRollout(phase),
        members: MEMBERS,
      });
      expect({ stable: r.stable, canary: r.canary, draining: r.draining }).toEqual({
        ...want,
        canary: ['10.9.9.9:80'],
      });
    },
  );

  it('weights: the rollout weight while it runs, 0 while draining or promoting', () => {
    const w = (phase: Phase): number =>
      routeFor({
        service: dockerService(true),
        manual: null,
        rollout: imageRollout(phase, { weightBp: 1500 }),
        members: MEMBERS,
      }).weightBp;
    expect([w('progressing'), w('paused'), w('rolling-back'), w('promoting'), w('succeeded')]).toEqual([
      1500, 1500, 0, 0, 0,
    ]);
  });

  it('a selected container carrying the rollout label is never canary', () => {
    const r = routeFor({
      service: dockerService(true),
      manual: null,
      rollout: imageRollout('progressing'),
      members: MEMBERS,
    });
    expect(r.canary).not.toContain(D);
    expect(r.stable).not.toContain(D);
  });

  it('a rollout started from the unlabelled generation keeps the selected containers stable', () => {
    const r = routeFor({
      service: dockerService(true),
      manual: null,
      rollout: imageRollout('progressing', { docker: docker(null) }),
      members: MEMBERS,
    });
    expect(r.stable).toEqual([A]);
    expect(r.canary).toEqual([C, U]);
  });

  describe('no image rollout on record: the oldest container generation is stable', () => {
    it('the unlabelled originals when they are oldest (user canaries do not count)', () => {
      const r = routeFor({ service: dockerService(true), manual: null, rollout: null, members: MEMBERS });
      expectRoute(r, { weightBp: 0, stable: [A], canary: [U], draining: [], retry: null });
    });

    it('a promoted generation after the originals were removed (its record lost)', () => {
      const members = MEMBERS.filter((m) => m.address !== A && m.address !== B);
      const r = routeFor({ service: dockerService(true), manual: null, rollout: null, members });
      expect(r.stable).toEqual([C, D]);
      expect(r.canary).toEqual([U]);
    });

    it('the oldest labelled generation when no unlabelled container is older', () => {
      const members = [
        member(C, 'clone', 'r2', T0 + 9),
        member(B, 'clone', 'g1', T0 + 2),
        member(A, 'selected', null, T0 + 5),
      ];
      expect(routeFor({ service: dockerService(true), manual: null, rollout: null, members }).stable).toEqual([B]);
    });

    it('a static-target rollout record (no docker part) also leaves it to inference', () => {
      const r = routeFor({
        service: dockerService(true),
        manual: null,
        rollout: rollout('progressing'),
        members: MEMBERS,
      });
      expect(r.stable).toEqual([A]);
      expect(r.canary).toEqual([U]);
      expect(r.draining).toEqual([]);
    });
  });

  it('members null (the watcher wrote nothing yet): empty Docker pools', () => {
    const managed = routeFor({
      service: dockerService(true),
      manual: null,
      rollout: imageRollout('progressing'),
      members: null,
    });
    expect({ stable: managed.stable, canary: managed.canary, draining: managed.draining }).toEqual({
      stable: [],
      canary: [],
      draining: [],
    });
    const fixed = routeFor({
      service: dockerService(false),
      manual: null,
      rollout: imageRollout('promoting'),
      members: null,
    });
    expect({ stable: fixed.stable, canary: fixed.canary, draining: fixed.draining }).toEqual({
      stable: [],
      canary: ['10.9.9.9:80'],
      draining: [],
    });
  });
});

describe('routeFor: the routed rollout (access lines name it)', () => {
  it.each([
    ['progressing', rollout('progressing'), 'r1'],
    ['paused after the canary was ready', rollout('paused', { resumeTo: 'progressing' }), 'r1'],
    ['starting (no canary traffic yet)', rollout('starting'), null],
    ['rolling back', rollout('rolling-back'), null],
    ['succeeded', rollout('succeeded'), null],
    ['started under other pool lists', rollout('progressing', { configHash: 'other' }), null],
    ['none', null, null],
  ] as const)('%s', (_name, r, id) => {
    expect(routeFor({ service: staticService, manual: null, rollout: r, members: null }).rolloutId).toBe(id);
  });
});

describe('sameRoute', () => {
  const base: Route = {
    weightBp: 500,
    stable: ['a', 'b'],
    canary: ['c'],
    retryCanaryOnStable: null,
    draining: [],
    targeting: [{ header: { name: 'x-beta', value: '1' } }],
    rolloutId: null,
  };
  const rows: { name: string; other: Route; same: boolean }[] = [
    { name: 'an equal copy', other: { ...base, stable: ['a', 'b'], canary: ['c'] }, same: true },
    { name: 'another weight', other: { ...base, weightBp: 600 }, same: false },
    { name: 'another retryCanaryOnStable', other: { ...base, retryCanaryOnStable: false }, same: false },
    { name: 'a stable target more', other: { ...base, stable: ['a', 'b', 'd'] }, same: false },
    { name: 'another canary target', other: { ...base, canary: ['d'] }, same: false },
    { name: 'a target draining', other: { ...base, draining: ['e'] }, same: false },
    { name: 'another routed rollout', other: { ...base, rolloutId: 'r2' }, same: false },
    { name: 'the same ids in another order', other: { ...base, stable: ['b', 'a'] }, same: false },
    {
      name: 'equal targeting rules',
      other: { ...base, targeting: [{ header: { name: 'x-beta', value: '1' } }] },
      same: true,
    },
    { name: 'other targeting rules', other: { ...base, targeting: [{ cookie: { name: 'x-beta' } }] }, same: false },
    { name: 'no targeting rules', other: { ...base, targeting: [] }, same: false },
  ];
  it.each(rows)('$name → $same', ({ other, same }) => {
    expect(sameRoute(base, other)).toBe(same);
    expect(sameRoute(other, base)).toBe(same);
  });

  it('routes computed from the same inputs are the same', () => {
    const inputs = { service: dockerService(true), manual: null, rollout: imageRollout('promoting'), members: MEMBERS };
    expect(sameRoute(routeFor(inputs), routeFor({ ...inputs, members: [...MEMBERS].reverse() }))).toBe(true);
  });
});

describe('routeFor: containers users start after an image rollout (compose up -d, down + up, docker run)', () => {
  // E and F: unlabelled containers the selector finds, created after the rollout r2 started at T0.
  const E = '172.18.0.5:80';
  const F = '172.18.0.6:80';
  const pools = (phase: Phase, members: Member[]) => {
    const r = routeFor({ service: dockerService(true), manual: null, rollout: imageRollout(phase), members });
    return { stable: r.stable, canary: r.canary, draining: r.draining };
  };

  it('after a promotion, compose recreated every container without veer labels: they are the stable pool', () => {
    const recreated = [member(E, 'selected', null, T0 + 600_000), member(F, 'selected', null, T0 + 600_001)];
    expect(pools('succeeded', recreated)).toEqual({ stable: [E, F], canary: [], draining: [] });
  });

  it('an older leftover of another generation gets no traffic; a newer one joins the promoted clones', () => {
    const members = [
      member(A, 'selected', null, T0 - 3),
      member(C, 'clone', 'r2', T0 + 3),
      member(E, 'selected', null, T0 + 9),
    ];
    expect(pools('succeeded', members)).toEqual({ stable: [C, E], canary: [], draining: [] });
  });

  it("during a rollout a container the user starts joins stable, never the rollout's canary", () => {
    const members = [...MEMBERS.filter((m) => m.address !== D), member(E, 'selected', null, T0 + 9)];
    expect(pools('progressing', members)).toEqual({ stable: [B, E], canary: [C, U], draining: [] });
  });

  it('while promoting, the old generation drains but an unlabelled container started since stays', () => {
    const rollout = imageRollout('promoting', { docker: docker(null) });
    const members = [
      member(A, 'selected', null, T0 - 3),
      member(C, 'clone', 'r2', T0 + 3),
      member(E, 'selected', null, T0 + 9),
    ];
    const r = routeFor({ service: dockerService(true), manual: null, rollout, members });
    expect({ stable: r.stable, draining: r.draining }).toEqual({ stable: [C, E], draining: [A] });
  });

  it("on a rollback the rollout's own clones drain although they are newer than its start", () => {
    const members = [member(B, 'clone', 'g1', T0 - 2), member(C, 'clone', 'r2', T0 + 3)];
    expect(pools('rolling-back', members)).toEqual({ stable: [B], canary: [], draining: [C] });
  });
});
