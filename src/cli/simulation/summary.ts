// What N seeded rollouts of one scenario add up to: how often each outcome came, how long the
// decision took, how many failed canary requests users saw first, and why rollouts stopped short.
// Pure: the same runs give the same figures, whatever prints them.
import type { SimOutcome, SimulationResult } from '../../simulate.js';

/** One run, reduced to what the summary needs (a run's steps and verdicts are not kept). */
export interface RunRecord {
  seed: number;
  outcome: SimOutcome;
  seconds: number;
  steps: number;
  canaryFailed: number;
  reason: string | null;
}

export interface Spread {
  median: number;
  p90: number;
  p99: number;
  max: number;
}

export interface OutcomeFigures {
  runs: number;
  /** 0-1 */
  share: number;
  /** Virtual seconds to the outcome; null when no run ended so. */
  seconds: Spread | null;
  /** Median number of weights the canary was given (the first one included). */
  steps: number | null;
}

export interface ReasonCount {
  outcome: SimOutcome;
  /** The reason with its numbers masked as N, so runs that stopped alike count together. */
  reason: string;
  count: number;
  /** The first run that stopped for it, numbers and all. */
  example: { seed: number; reason: string };
}

export interface Summary {
  runs: number;
  outcomes: Record<SimOutcome, OutcomeFigures>;
  /** Canary requests that failed before the outcome, over every run. */
  exposure: { median: number; p99: number; max: number };
  /** Rollback and pause reasons, most frequent first. */
  reasons: ReasonCount[];
}

/** Every outcome, in the order they are shown (a Record, so a new outcome cannot be forgotten). */
const SHOWN: Record<SimOutcome, true> = { succeeded: true, 'rolled-back': true, paused: true, running: true };
export const OUTCOMES = Object.keys(SHOWN) as SimOutcome[];
const TOP_REASONS = 3;

export function runRecord(seed: number, r: SimulationResult): RunRecord {
  return {
    seed,
    outcome: r.outcome,
    seconds: r.seconds,
    steps: r.steps.length,
    canaryFailed: r.canaryFailed,
    reason: r.reason,
  };
}

export function summarize(runs: readonly RunRecord[]): Summary {
  const outcomes = {} as Record<SimOutcome, OutcomeFigures>;
  for (const o of OUTCOMES) {
    const of = runs.filter((r) => r.outcome === o);
    outcomes[o] = {
      runs: of.length,
      share: runs.length === 0 ? 0 : of.length / runs.length,
      seconds: spread(of.map((r) => r.seconds)),
      steps: of.length === 0 ? null : quantile(sorted(of.map((r) => r.steps)), 0.5),
    };
  }
  const failed = sorted(runs.map((r) => r.canaryFailed));
  const exposure = { median: quantile(failed, 0.5), p99: quantile(failed, 0.99), max: failed.at(-1) ?? 0 };
  return { runs: runs.length, outcomes, exposure, reasons: topReasons(runs) };
}

function topReasons(runs: readonly RunRecord[]): ReasonCount[] {
  const groups = new Map<string, ReasonCount>();
  for (const r of runs) {
    if ((r.outcome !== 'rolled-back' && r.outcome !== 'paused') || r.reason === null) continue;
    const reason = maskNumbers(r.reason);
    const key = `${r.outcome}\u0000${reason}`;
    const g = groups.get(key);
    if (g) g.count++;
    else groups.set(key, { outcome: r.outcome, reason, count: 1, example: { seed: r.seed, reason: r.reason } });
  }
  // Stable sort: equal counts keep the order they first appeared in (lowest seed first).
  return [...groups.values()].sort((a, b) => b.count - a.count).slice(0, TOP_REASONS);
}

/** Figures vary from run to run; names such as p99 or maxP99Ms do not (a digit after a letter stays). */
export function maskNumbers(reason: string): string {
  return reason.replace(/(?<!\w)\d+(?:\.\d+)?/g, 'N');
}

const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);

/** Nearest rank: a value some run really had, never an interpolation. 0 for no values. */
export function quantile(ascending: readonly number[], q: number): number {
  if (ascending.length === 0) return 0;
  const rank = Math.min(ascending.length, Math.max(1, Math.ceil(q * ascending.length)));
  return ascending[rank - 1] as number;
}

function spread(xs: readonly number[]): Spread | null {
  if (xs.length === 0) return null;
  const s = sorted(xs);
  return { median: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), max: s.at(-1) as number };
}
