// Turns a rollout's state and the metric windows into one analysis event. Only whole, finished
// seconds are analysed, and each second exactly once (the state remembers where the last analysis
// ended), so evidence is never counted twice.
import { judge, type Block, type Slice } from '../analysis/judge.js';
import type { PoolName } from '../domain/pool.js';
import { settledSecond } from '../domain/second.js';
import type { RolloutState } from '../domain/rollout.js';
import type { MachineEvent } from './machine.js';
import { lastJudgedStep } from './progression.js';
import { lowTrafficWarning, requiredSoFar, stepMinRequests } from './step-needs.js';

/**
 * Per-pool traffic over [fromMs, toMs], whole seconds (merged over replicas where there are several).
 * Rejects when the data cannot be had (e.g. the shared store is down): the controller then holds.
 */
export interface MetricsSource {
  totals(service: string, pool: PoolName, fromMs: number, toMs: number): Promise<Slice>;
  /** How long after a second ends its data is complete (merged sources wait for every replica's flush). */
  readonly settleMs?: number;
  /**
   * The newest second whose data is complete at `nowMs`, when the source knows it (workers shipped it, every
   * replica marked it); else settleMs says.
   */
  lastComplete?(nowMs: number): number | Promise<number>;
}

/** The stable pool's p99 reference looks this far back (so it survives a blue-green switch). */
const STABLE_REFERENCE_MS = 5 * 60_000;

export async function analysisEvent(s: RolloutState, m: MetricsSource, now: number): Promise<MachineEvent | null> {
  // The last second whose data is complete: finished, (merged) flushed by every replica, shipped by every worker.
  const lastSec = (await m.lastComplete?.(now)) ?? settledSecond(now, m.settleMs ?? 0);
  // A second that began before the step (or the last analysis) mixes in traffic from before it
  // (another weight, even the previous rollout's canary): windows start at the next whole second.
  const fromSec = Math.ceil(s.lastAnalysisAt / 1000);
  if (lastSec < fromSec) return null;
  const end = lastSec * 1000 + 999;
  const range = (pool: PoolName, fromMs: number): Promise<Slice> => m.totals(s.service, pool, fromMs, end);
  const stepFrom = Math.ceil(s.stepStartedAt / 1000) * 1000;
  const policy = { ...s.policy, minRequests: requiredSoFar(s) };
  const since = Math.ceil((s.trafficSince ?? s.startedAt) / 1000) * 1000;
  // The canary's first `warmup` of traffic is left out of the latency judgement (errors still count).
  const warmEnd = Math.ceil(((s.trafficSince ?? s.startedAt) + (s.policy.warmup ?? 0)) / 1000) * 1000;
  const [seconds, sc, ss, ref, all] = await Promise.all([
    blocks(m, s.service, fromSec, lastSec, warmEnd),
    range('canary', stepFrom),
    range('stable', stepFrom),
    range('stable', Math.max(0, now - STABLE_REFERENCE_MS)),
    range('canary', since),
  ]);
  const warm = async (slice: Slice, from: number): Promise<Slice> => {
    if (warmEnd <= from) return slice;
    if (warmEnd > end) return withoutLatency(slice);
    const since = await range('canary', warmEnd);
    return { ...slice, latency: since.latency, ...(since.routes ? { routes: since.routes } : {}) };
  };
  // Since the last analysis: the sum of its seconds, not a query of its own.
  const delta = { canary: sum(seconds.map((b) => b.canary)), stable: sum(seconds.map((b) => b.stable)) };
  const { verdict, stats } = judge({
    policy,
    delta,
    seconds,
    step: { canary: await warm(sc, stepFrom), stable: ss },
    stableRef: ref,
    stats: s.stats,
    now,
    failures: s.failures,
    canarySoFar: all.requests,
    final: s.strategy === 'canary' && s.step >= lastJudgedStep(s.policy.steps),
    stepSince: stepFrom,
    stepMinRequests: stepMinRequests(s),
  });
  // At its first analysis, a rollout whose traffic cannot give its steps their requests before the
  // progress deadline says so (with the steps that would work) instead of pausing an hour later.
  const rate = (delta.canary.requests + delta.stable.requests) / (lastSec - fromSec + 1);
  const warning = s.lastVerdict === null ? lowTrafficWarning(s, rate) : null;
  return { type: 'analysis', verdict, stats, until: (lastSec + 1) * 1000, ...(warning ? { warning } : {}) };
}

/** At most this many blocks per analysis (a late analysis groups its seconds). */
const MAX_BLOCKS = 60;

/** The analysed seconds one by one: the judge caps what any one of them may add to the evidence. */
async function blocks(
  m: MetricsSource,
  service: string,
  fromSec: number,
  lastSec: number,
  warmEnd: number,
): Promise<Block[]> {
  const width = Math.max(1, Math.ceil((lastSec - fromSec + 1) / MAX_BLOCKS));
  const starts: number[] = [];
  for (let sec = fromSec; sec <= lastSec; sec += width) starts.push(sec);
  return Promise.all(
    starts.map(async (sec): Promise<Block> => {
      const [from, to] = [sec * 1000, Math.min(lastSec, sec + width - 1) * 1000 + 999];
      const [canary, stable] = await Promise.all([
        m.totals(service, 'canary', from, to),
        m.totals(service, 'stable', from, to),
      ]);
      // Seconds of the canary's warm-up add no latency evidence.
      const warming = from < warmEnd;
      return {
        from,
        canary: warming ? withoutLatency(canary) : canary,
        stable,
      };
    }),
  );
}

function sum(slices: readonly Slice[]): Slice {
  const latency = new Array<number>(slices[0]?.latency.length ?? 0).fill(0);
  let [requests, errors] = [0, 0];
  for (const s of slices) {
    requests += s.requests;
    errors += s.errors;
    for (let i = 0; i < latency.length; i++) latency[i] = (latency[i] as number) + (s.latency[i] as number);
  }
  return { requests, errors, latency };
}

/** The slice with its latency (its routes' too) left out: the canary's warm-up. */
function withoutLatency(s: Slice): Slice {
  const latency = new Array<number>(s.latency.length).fill(0);
  if (s.routes === undefined) return { ...s, latency };
  const routes = Object.fromEntries(Object.entries(s.routes).map(([k, r]) => [k, withoutLatency(r)]));
  return { ...s, latency, routes };
}
