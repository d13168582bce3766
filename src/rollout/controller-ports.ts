// What the rollout controller needs from the rest of veer: small ports, wired in main.
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import type { RolloutPolicy } from '../domain/rollout.js';
import type { Route } from '../domain/route.js';
import type { AckWait } from './acks.js';
import type { MetricsSource } from './analysis-input.js';
import type { CanaryFleet } from './canary-fleet.js';
import type { GateCaller } from './gate-asks.js';
import type { CanaryGate } from './launches.js';
import type { ChangeFeed, Records } from './records.js';
import type { Emit } from './transitions.js';

export interface ControllerDeps {
  clock: Clock;
  log: Logger;
  /** The persisted inputs (shared with the routing projection). */
  records: Records;
  /** Read at each use: a reload adds names (a removed service is followed until the restart). */
  services: readonly string[];
  metrics: MetricsSource;
  emit: Emit;
  policyOf(service: string): RolloutPolicy | undefined;
  /** Fingerprint of the service's configured pool lists (domain/route.ts). */
  configHash(service: string): string;
  /** The service's route as this replica applies it. */
  routeOf(service: string): Route | null;
  /** Routing acknowledgements of every live replica. */
  acks: { waitClear(service: string, targets: readonly string[], waitMs: number): Promise<AckWait> };
  newId(): string;
  /** false for simulations that drive analyze() themselves. */
  timers?: boolean;
  /** With several replicas: other replicas' record changes and the store's reconnects. */
  feed?: ChangeFeed;
  /** Docker pools: creates and removes containers for image rollouts. */
  fleet?: CanaryFleet;
  /** veer's own health checks: a canary gets no traffic before it passed them. */
  gate?: CanaryGate;
  /** Asks a rollout's HTTP gates (policy.gates). */
  gates?: GateCaller;
}
