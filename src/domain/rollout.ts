// Rollout vocabulary shared by the machine, the controller, the API and the CLI. Phase and verdict
// strings are part of the public contract (API, logs, Redis): add, never rename.
import type { HistoryFields, StableSpec } from './history.js';
import type { TargetingRule } from './targeting.js';
import type { GateWait, Gates } from './gate.js';
import type { BasisPoints } from './weight.js';
import type { SequentialStats, Verdict } from './verdict.js';

export * from './verdict.js';

/** A service's rollout policy with every default applied (durations in ms). */
export interface RolloutPolicy {
  strategy: 'canary' | 'blue-green';
  steps: number[];
  stepInterval: number;
  analysisInterval: number;
  minRequests: number;
  maxErrorRate: number;
  maxP99Ms: number;
  maxErrorRateIncrease: number;
  maxLatencyRatio: number;
  failureLimit: number;
  confidence: number;
  progressDeadline: number;
  onDeadline: 'pause' | 'rollback';
  drainTimeout: number;
  rollbackWindow: number;
  healthTimeout: number;
  retryCanaryOnStable: boolean;
  onRestart: 'resume' | 'rollback';
  /** ms of the canary's first traffic left out of the latency judgement (absent in older records: 0). */
  warmup: number;
  /** A relative latency limit is never less than stable's figure plus this many ms (absent: 0). */
  minLatencyIncreaseMs: number;
  /** 4xx answers judged against stable's (absent in older records: false). */
  judge4xx: boolean;
  /** Route groups: 'auto' (first path segment) or path prefixes (absent in older records: 'auto'). */
  routes: 'auto' | string[];
  /** Paths never judged (absent in older records: none). */
  excludePaths: string[];
  /** Requests matching any rule go to the canary while it is routed (absent in older records: none). */
  targeting: TargetingRule[];
  /** HTTP gates the rollout must pass before it moves on (absent in older records: none). */
  gates: Gates;
  /** What a gate still refusing progressDeadline after it fell due does. */
  onGateFailure: 'hold' | 'rollback';
}

export type Phase =
  'starting' | 'progressing' | 'paused' | 'promoting' | 'succeeded' | 'rolling-back' | 'rolled-back' | 'aborted';
/** Every phase, in the order a rollout goes through them (what /metrics lists). */
export const PHASES: readonly Phase[] = [
  'starting',
  'progressing',
  'paused',
  'promoting',
  'succeeded',
  'rolling-back',
  'rolled-back',
  'aborted',
];
export const TERMINAL_PHASES: readonly Phase[] = ['succeeded', 'rolled-back', 'aborted'];
export const isTerminal = (p: Phase): boolean => TERMINAL_PHASES.includes(p);

export type Strategy = 'canary' | 'blue-green';

/**
 * A container's generation is its `veer.rollout` label (null: containers veer did not create, e.g.
 * the service's original compose containers). Exactly one generation of a service is stable.
 */
export interface DockerRollout {
  image: string;
  /** Request env ("K=V"), applied over the merged image and stable env. */
  env: string[];
  count: number;
  /** The generation that was stable when this rollout started (it is removed on promotion). */
  stableGeneration: string | null;
  /**
   * `env` is a container's whole environment, not additions to the stable's: an undo recreating the
   * previous generation's containers (absent: false).
   */
  exactEnv?: boolean;
  /** What the stable generation ran when this rollout started, so an undo can go back (absent in older records). */
  stableSpec?: StableSpec;
}

/** `HistoryFields`: the overrides, origin and timeline its history entry is made of. */
export interface RolloutState extends HistoryFields {
  id: string;
  service: string;
  strategy: Strategy;
  policy: RolloutPolicy;
  phase: Phase;
  /** Index into policy.steps (canary); blue-green: 0 = preview, 1 = switched (rollback window). */
  step: number;
  weightBp: BasisPoints;
  /** Target ids of the new pool and of the stable pool the rollout started from. */
  canaryTargets: string[];
  stableTargets: string[];
  stepStartedAt: number;
  /** When the canary first got traffic (its first step); absent in older records. */
  trafficSince?: number;
  lastAnalysisAt: number;
  /** Consecutive failed analyses. */
  failures: number;
  /** When the last failed analysis was (a step may pass only a step's time after it). */
  failedAt?: number;
  reason: string | null;
  lastVerdict: Verdict | null;
  stats: SequentialStats;
  /** Where `resume` goes back to. */
  resumeTo: 'starting' | 'progressing' | null;
  /** Image rollouts (Docker pools): what the canary containers are made of and which containers are stable. */
  docker?: DockerRollout;
  /** The gate the rollout waits for before its next move (absent: none). */
  gate?: GateWait;
  /** The terminal phase a rolling-back ends in. */
  rollbackOutcome: 'rolled-back' | 'aborted' | null;
  /**
   * Fingerprint of the config's static pool lists when the rollout started: once the config's lists
   * change, they win over the pools this rollout made (absent in records written before it existed).
   */
  configHash?: string;
  startedAt: number;
  updatedAt: number;
}

export type EventKind =
  | 'started'
  | 'canary-ready'
  | 'step'
  | 'analysis'
  | 'paused'
  | 'resumed'
  | 'rolling-back'
  | 'rolled-back'
  | 'aborted'
  | 'promoting'
  | 'succeeded'
  | 'shifted'
  /** A gate was asked, refused (the rollout holds) or passed. */
  | 'gate'
  /** Something the operator should know that changes no phase (e.g. too little traffic for the steps). */
  | 'warning'
  /** The config file was reloaded, or refused (service "*": it concerns the whole replica). */
  | 'reload'
  /** A service's maintenance switch was turned on or off. */
  | 'maintenance'
  /** An ACME certificate was issued or renewed, or an order failed (service "*"; `data.host`, `data.outcome`). */
  | 'acme';

export interface RolloutEvent {
  seq: number;
  at: string;
  service: string;
  rolloutId: string | null;
  kind: EventKind;
  phase: Phase | null;
  weight: number | null;
  message: string;
  data?: Record<string, unknown>;
  /** The replica that emitted it (several replicas share their events). */
  origin?: string;
}
