// The judge's vocabulary: verdicts, the checks behind them, their evidence and the running
// statistics a rollout record carries between analyses. Strings are part of the public contract
// (API, logs, Redis): add, never rename.

export type VerdictResult = 'pass' | 'fail' | 'inconclusive';

export type CheckName =
  | 'error-rate'
  | 'error-rate-vs-stable'
  | 'latency'
  | 'latency-vs-stable'
  | 'median-vs-stable'
  | 'route-errors-vs-stable'
  | 'route-latency-vs-stable'
  | 'client-errors-vs-stable';
export type CheckStatus = 'pass' | 'fail' | 'inconclusive' | 'skipped';

export interface CheckResult {
  name: CheckName;
  status: CheckStatus;
  /** What was observed (rate, or ms) and the limit it was held against. */
  observed: number | null;
  limit: number | null;
  /** Always-valid p-value of the sequential test (1 = no evidence against the canary). */
  pValue: number;
  note: string;
  /** The route group a per-route check speaks of. */
  route?: string;
}

/** One route group's step evidence in a verdict. */
export interface RouteEvidence {
  route: string;
  canary: PoolEvidence;
  stable: PoolEvidence;
}

/** A pool's errors (or 4xx) over the rollout, and those of its clients with most of them. */
export interface ClientTally {
  errors: number;
  byClient: Record<string, number>;
  /** The count a client inherited when it took an evicted client's place (Space-Saving's error term). */
  inherited?: Record<string, number>;
  /** Of `errors`, those left out of the evidence as one client's excess (absent in older records: 0). */
  left?: number;
}

/** One route group's own tests and running counts. */
export interface RouteStats {
  errorRel: number[];
  latencyRel: number[];
  canary: { requests: number; errors: number };
  stable: { requests: number; errors: number };
}

export interface PoolEvidence {
  requests: number;
  errors: number;
  errorRate: number;
  p99Ms: number;
  /** Absent in verdicts recorded before it was judged. */
  p50Ms?: number;
}

export interface Verdict {
  result: VerdictResult;
  /** The evidence is overwhelming: roll back now, without waiting for failureLimit. */
  failFast: boolean;
  reason: string;
  checks: CheckResult[];
  /** The current step's window (what minRequests and the point estimates are measured on). */
  canary: PoolEvidence;
  stable: PoolEvidence;
  /** Per route group, busiest first (absent without route data). */
  routes?: RouteEvidence[];
  at: number;
}

/** Running log-likelihood ratios of the sequential tests, one per alternative on each check's grid. */
export interface SequentialStats {
  errorAbs: number[];
  errorAbsStable: number[];
  errorRel: number[];
  latencyAbs: number[];
  latencyAbsStable: number[];
  latencyRel: number[];
  /** Canary requests slower than the relative median limit, against "at most half" (absent in older records). */
  latencyBody?: number[];
  /** The stable pool's traffic since the rollout started: the baseline when stable gets none (100%). */
  baseline: { requests: number; errors: number };
  /** The canary's traffic since the rollout started (the practical-significance gate uses both). */
  canaryTotal: { requests: number; errors: number };
  /**
   * Each canary check's always-valid p-value now, on the evidence since its tests last started (the
   * rollout's start or the last failed analysis). Ville's inequality bounds the chance that the
   * statistic EVER crosses 1/α, so a failure is decided at the crossing; the tests then start again.
   */
  pNow: Record<'errorAbs' | 'errorRel' | 'latencyAbs' | 'latencyRel', number> & { latencyBody?: number };
  /** Analyses with canary data since the tests last started (fail-fast needs two or more). */
  fresh: number;
  /** The previous analysis failed on overwhelming evidence (two such in a row fail fast). */
  overwhelmed: boolean;
  /** Per route group (absent without route data). */
  routes?: Record<string, RouteStats>;
  /** 4xx: the canary-vs-stable test and the running counts, one client's excess left out (judge4xx only). */
  clientRel?: number[];
  clientErrors?: { canary: number; stable: number };
  /** canaryTotal and baseline with every client's errors (the promotion's gate); absent in older records. */
  everyClient?: { canary: { requests: number; errors: number }; stable: { requests: number; errors: number } };
  /** Errors per client (sticky bucket) over the rollout, per pool: no one client supplies most evidence. */
  clients?: { canary: ClientTally; stable: ClientTally };
  /** The same for 4xx (judge4xx; absent in older records). */
  clients4xx?: { canary: ClientTally; stable: ClientTally };
  /** The current step's requests and (burst-capped) errors per pool, since `since`. */
  step?: {
    since: number;
    canary: { requests: number; errors: number };
    stable: { requests: number; errors: number };
    /** Seconds of the step in which the canary had traffic (absent in older records). */
    canarySeconds?: number;
    /** Stable requests since the canary's last second with traffic (a canary whose targets all died). */
    quietStable?: number;
  };
}
