// What the data plane is built with, and what a routing change may carry.
import type { Clock, Random } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import type { TargetingRule } from '../domain/targeting.js';
import type { TargetAddress } from '../domain/target.js';
import type { BasisPoints } from '../domain/weight.js';
import type { MetricsRegistry } from '../metrics/registry.js';

export interface DataPlaneDeps {
  clock: Clock;
  random: Random;
  log: Logger;
  metrics: MetricsRegistry;
  /**
   * false: this data plane runs no health checks or readiness probes of its own; its targets' verdicts
   * come with the snapshots it applies (a worker's, from the primary). Default true.
   */
  probes?: boolean;
}

export interface RoutePatch {
  weightBp?: BasisPoints;
  stable?: readonly TargetAddress[];
  canary?: readonly TargetAddress[];
  /** null = back to the service config's value. */
  retryCanaryOnStable?: boolean | null;
  /** A running rollout's targeting rules ([]: none), compiled here once, not at every table build. */
  targeting?: readonly TargetingRule[];
  /** The rollout whose canary is routed (null: none). */
  rolloutId?: string | null;
}
