// Waiting for a gate, decided from the rollout's state alone: a gate falls due, the next ask's time,
// and what the gate is told. Pure; the machine records the answers (gate-answer.ts) and the leader
// asks (gate-asks.ts).
import { assertNever } from '../domain/errors.js';
import type { GateConfig, GateName } from '../domain/gate.js';
import type { RolloutState } from '../domain/rollout.js';
import type { Effect } from './machine.js';

/** What a gate is sent (JSON): the rollout, the move it would allow, and both pools' targets. */
export interface GateRequest {
  service: string;
  rolloutId: string;
  gate: GateName;
  strategy: RolloutState['strategy'];
  phase: RolloutState['phase'];
  /** The current step (0-based) and weight in percent; `nextWeight`: the weight once the gate passes. */
  step: number;
  weight: number;
  nextWeight: number;
  canary: { targets: string[] };
  stable: { targets: string[] };
  /** Asks of this occasion refused so far. */
  refusals: number;
}

export function gateConfig(s: RolloutState, name: GateName): GateConfig | undefined {
  // Records written before gates existed have none.
  return s.policy.gates?.[name];
}

/** The weight in percent the rollout moves to once `name` passes. */
export function nextWeight(s: RolloutState, name: GateName): number {
  switch (name) {
    case 'beforeTraffic':
      return s.strategy === 'canary' ? (s.policy.steps[0] as number) : 0;
    case 'beforeEachStep':
      return (s.policy.steps[s.step + 1] as number | undefined) ?? 100;
    case 'beforePromotion':
      return 100;
    default:
      return assertNever(name, 'gate');
  }
}

/** "before step 3/5 (25%)" */
export function moveText(s: RolloutState, name: GateName): string {
  switch (name) {
    case 'beforeTraffic':
      return s.strategy === 'canary' ? 'before any traffic reaches the canary' : 'before the preview';
    case 'beforeEachStep':
      return `before step ${s.step + 2}/${s.policy.steps.length} (${nextWeight(s, name)}%)`;
    case 'beforePromotion':
      return s.strategy === 'canary' ? 'before promotion' : 'before switching all traffic to the new pool';
    default:
      return assertNever(name, 'gate');
  }
}

/** The rollout holds where it is until `name` passes; the gate is asked at once. */
export function awaitGate(s: RolloutState, name: GateName, now: number): { state: RolloutState; effect: Effect } {
  const state: RolloutState = {
    ...s,
    gate: { name, since: now, refusals: 0, lastAskedAt: null, lastRefusal: null },
    reason: `waiting for gate ${name}`,
    updatedAt: now,
  };
  const message = `asking gate ${name} ${moveText(s, name)}`;
  return { state, effect: { type: 'emit', kind: 'gate', message, data: { gate: name, pending: true } } };
}

/** When the pending gate is asked next: at once the first time, then an analysisInterval after a refusal. */
export function nextAskAt(s: RolloutState): number {
  const last = s.gate?.lastAskedAt ?? null;
  return last === null ? (s.gate?.since ?? 0) : last + s.policy.analysisInterval;
}

export function gateRequest(s: RolloutState, name: GateName): GateRequest {
  return {
    service: s.service,
    rolloutId: s.id,
    gate: name,
    strategy: s.strategy,
    phase: s.phase,
    step: s.step,
    weight: s.weightBp / 100,
    nextWeight: nextWeight(s, name),
    canary: { targets: [...s.canaryTargets] },
    stable: { targets: [...s.stableTargets] },
    refusals: s.gate?.name === name ? s.gate.refusals : 0,
  };
}
