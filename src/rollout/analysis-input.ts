// Turns a rollout's state and the metric windows into one analysis event. Only whole, finished
// seconds are analysed, and each second exactly once (the state remembers where the last analysis
// ended), so evidence is never counted twice.
import { judge, type Slice } from '../analysis/judge.js';
import type { PoolName } from '../domain/pool.js';
import type { RolloutState } from '../domain/rollout.js';
import type { MachineEvent } from './machine.js';

/**
 * Per-pool traffic over [fromMs, toMs], whole seconds (merged over replicas where there are several).
 * Rejects when the data cannot be had (e.g. the shared store is down): the controller then holds.
 */
export interface MetricsSource {
  totals(service: string, pool: PoolName, fromMs: number, toMs: number): Promise<Slice>;
  /** How long after a second ends its data is complete (merged sources wait for every replica's flush). */
  readonly settleMs?: number;
}

/** The stable pool's p99 reference looks this far back (so it survives a blue-green switch). */
const STABLE_REFERENCE_MS = 5 * 60_000;

export async function analysisEvent(s: RolloutState, m: MetricsSource, now: number): Promise<MachineEvent | null> {
  // The last second whose data is complete: finished, and (merged) flushed by every replica.
  const lastSec = Math.floor((now - (m.settleMs ?? 0)) / 1000) - 1;
  // A second that began before the step (or the last analysis) mixes in traffic from before it
  // (another weight, even the previous rollout's canary): windows start at the next whole second.
  const fromSec = Math.ceil(s.lastAnalysisAt / 1000);
  if (lastSec < fromSec) return null;
  const end = lastSec * 1000 + 999;
  const range = (pool: PoolName, fromMs: number): Promise<Slice> => m.totals(s.service, pool, fromMs, end);
  const stepFrom = Math.ceil(s.stepStartedAt / 1000) * 1000;
  // Blue-green preview: the new pool sees only override traffic, so the sample gate does not apply;
  // whatever preview traffic there is is still judged.
  const policy = s.strategy === 'blue-green' && s.step === 0 ? { ...s.policy, minRequests: 0 } : s.policy;
  const [dc, ds, sc, ss, ref] = await Promise.all([
    range('canary', fromSec * 1000),
    range('stable', fromSec * 1000),
    range('canary', stepFrom),
    range('stable', stepFrom),
    range('stable', Math.max(0, now - STABLE_REFERENCE_MS)),
  ]);
  const { verdict, stats } = judge({
    policy,
    delta: { canary: dc, stable: ds },
    step: { canary: sc, stable: ss },
    stableRef: ref,
    stats: s.stats,
    now,
  });
  return { type: 'analysis', verdict, stats, until: (lastSec + 1) * 1000 };
}
