// The API's view of a rollout.
import type { RolloutHistoryEntry, RolloutStatus } from '../api/ports.js';
import type { HistoryEntry } from '../domain/history.js';
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

/** The API's view of a history entry: times as ISO strings, and no env of a stable generation. */
export function historyView(e: HistoryEntry): RolloutHistoryEntry {
  const c = e.canary;
  const stable = e.stable;
  return {
    id: e.id,
    strategy: e.strategy,
    phase: e.phase,
    reason: e.reason,
    startedAt: iso(e.startedAt),
    endedAt: e.endedAt === null ? null : iso(e.endedAt),
    // An undo's env is the previous generation's whole env (secrets included): not shown.
    canary:
      'targets' in c
        ? { targets: [...c.targets] }
        : { image: c.image, env: c.exactEnv === true ? [] : [...c.env], count: c.count },
    stable:
      'targets' in stable
        ? { targets: [...stable.targets] }
        : { generation: stable.generation, image: stable.image, count: stable.count },
    overrides: { ...e.overrides },
    origin: e.origin,
    timeline: e.timeline.map((t) => ({ at: iso(t.at), kind: t.kind, weight: t.weight, note: t.note })),
    timelineCut: e.timelineCut,
  };
}
