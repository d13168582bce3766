// The API's view of a rollout.
import type { RolloutStatus } from '../api/ports.js';
import type { RolloutState } from '../domain/rollout.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function rolloutStatus(s: RolloutState, liveCanaryTargets: readonly string[]): RolloutStatus {
  return {
    id: s.id,
    strategy: s.strategy,
    phase: s.phase,
    step: s.step,
    weight: s.weightBp / 100,
    reason: s.reason,
    startedAt: iso(s.startedAt),
    updatedAt: iso(s.updatedAt),
    steps: s.strategy === 'canary' ? [...s.policy.steps] : [0, 100],
    stepStartedAt: iso(s.stepStartedAt),
    failures: s.failures,
    canary: { targets: liveCanaryTargets.length > 0 ? [...liveCanaryTargets] : [...s.canaryTargets] },
    lastVerdict: s.lastVerdict,
    ...((s.policy.targeting ?? []).length > 0 ? { targeting: s.policy.targeting } : {}),
    gate:
      s.gate && (s.phase === 'progressing' || s.phase === 'paused')
        ? { name: s.gate.name, since: iso(s.gate.since), refusals: s.gate.refusals, lastRefusal: s.gate.lastRefusal }
        : null,
  };
}
