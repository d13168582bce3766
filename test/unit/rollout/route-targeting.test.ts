// Targeting rules are part of the projected route: every replica reads them from the rollout record's
// policy, and they hold only while the rollout's canary is routed (progressing, or paused after it was
// ready), never before it is ready nor once the rollout rolls back, promotes or has ended.
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { Phase, RolloutState } from '../../../src/domain/rollout.js';
import { routeFor, sameRoute, type RoutedService } from '../../../src/domain/route.js';
import type { TargetingRule } from '../../../src/domain/targeting.js';
import { newRollout } from '../../../src/rollout/machine.js';

const HASH = 'cfg-hash-1';
const RULES: TargetingRule[] = [
  { header: { name: 'X-Internal-User', value: '1' } },
  { query: { name: 'canary', regex: '^(1|true)$' } },
];

const service: RoutedService = {
  name: 'web',
  stable: ['10.0.0.1:80'],
  canary: [],
  weightBp: 0,
  configHash: HASH,
  docker: null,
};

function rollout(phase: Phase, o: Partial<RolloutState> = {}, strategy: 'canary' | 'blue-green' = 'canary') {
  const policy = rolloutPolicySchema.parse({ strategy, targeting: RULES });
  const base = newRollout(
    {
      id: 'r1',
      service: 'web',
      strategy,
      policy,
      canaryTargets: ['10.0.2.1:80'],
      stableTargets: ['10.0.0.1:80'],
      stats: emptyStats(),
    },
    1_700_000_000_000,
  );
  return { ...base, phase, weightBp: 500, configHash: HASH, ...o };
}

const targetingOf = (r: RolloutState | null, s: RoutedService = service): TargetingRule[] =>
  routeFor({ service: s, manual: null, rollout: r, members: null }).targeting;

describe('routeFor: targeting rules', () => {
  it('has none without a rollout', () => {
    expect(targetingOf(null)).toEqual([]);
  });

  const rows: { phase: Phase; resumeTo?: 'starting' | 'progressing'; rules: boolean }[] = [
    { phase: 'starting', rules: false },
    { phase: 'progressing', rules: true },
    { phase: 'paused', resumeTo: 'progressing', rules: true },
    { phase: 'paused', resumeTo: 'starting', rules: false },
    { phase: 'rolling-back', rules: false },
    { phase: 'promoting', rules: false },
    { phase: 'succeeded', rules: false },
    { phase: 'rolled-back', rules: false },
    { phase: 'aborted', rules: false },
  ];
  it.each(rows)('$phase (resumeTo $resumeTo) → rules: $rules', ({ phase, resumeTo, rules }) => {
    const r = rollout(phase, { resumeTo: resumeTo ?? null });
    expect(targetingOf(r)).toEqual(rules ? RULES : []);
  });

  it('hold at weight 0 too: a blue-green preview, and the canary pool is routed with them', () => {
    const preview = rollout('progressing', { step: 0, weightBp: 0 }, 'blue-green');
    const route = routeFor({ service, manual: null, rollout: preview, members: null });
    expect(route.weightBp).toBe(0);
    expect(route.canary).toEqual(['10.0.2.1:80']);
    expect(route.targeting).toEqual(RULES);
  });

  it('do not hold once the config lists changed under the rollout (its canary is no longer routed)', () => {
    expect(targetingOf(rollout('progressing', { configHash: 'another' }))).toEqual([]);
    // A record written before the fingerprint existed still routes its own pools.
    expect(targetingOf(rollout('progressing', { configHash: undefined }))).toEqual(RULES);
  });

  it('read a record written before targeting existed as no rules', () => {
    const old = rollout('progressing');
    const { targeting: _dropped, ...policy } = old.policy;
    expect(targetingOf({ ...old, policy: policy as RolloutState['policy'] })).toEqual([]);
  });

  it('hold for an image rollout of a Docker service while it progresses', () => {
    const docker: RoutedService = { ...service, stable: [], docker: { manageCanary: true } };
    const image = { image: 'web:2', env: [], count: 1, stableGeneration: null };
    expect(targetingOf(rollout('progressing', { docker: image }), docker)).toEqual(RULES);
    expect(targetingOf(rollout('rolling-back', { docker: image }), docker)).toEqual([]);
  });

  it('end the route: a rollout that ends changes the route even at an unchanged weight', () => {
    const during = routeFor({ service, manual: null, rollout: rollout('progressing'), members: null });
    const paused = routeFor({
      service,
      manual: null,
      rollout: rollout('paused', { resumeTo: 'progressing' }),
      members: null,
    });
    expect(sameRoute(during, paused)).toBe(true);
    const aborted = routeFor({ service, manual: null, rollout: rollout('aborted', { weightBp: 0 }), members: null });
    const promoting = routeFor({ service, manual: null, rollout: rollout('promoting'), members: null });
    expect(sameRoute(during, aborted)).toBe(false);
    expect(sameRoute(promoting, { ...promoting, targeting: RULES })).toBe(false);
  });
});
