// What the rollout controller needs from the rest of veer: small ports, wired in main.
import type { Clock } from '../domain/clock.js';
import type { Logger } from '../domain/log.js';
import type { PoolName } from '../domain/pool.js';
import type { RolloutEvent, RolloutPolicy } from '../domain/rollout.js';
import type { PutResult, StateStore } from '../store/port.js';
import type { MetricsSource } from './analysis-input.js';
import type { CanaryFleet } from './fleet.js';
import type { CanaryGate } from './launches.js';
import type { ChangeFeed } from './routing.js';

/** What the controller needs of routing (the RoutingBook). */
export interface RoutingPort {
  weight(service: string): number;
  pool(service: string, pool: PoolName): string[];
  setWeight(service: string, weightBp: number): Promise<void>;
  setPool(service: string, pool: PoolName, ids: readonly string[]): Promise<void>;
  promote(service: string): Promise<void>;
  setRetry(service: string, value: boolean | null): Promise<void>;
}

export interface ControllerDeps {
  clock: Clock;
  log: Logger;
  store: StateStore;
  routing: RoutingPort;
  metrics: MetricsSource;
  /** Waits for removed targets' in-flight requests (bounded). */
  drain(ids: readonly string[], timeoutMs: number): Promise<{ drained: boolean; cut: number }>;
  emit(e: Omit<RolloutEvent, 'seq' | 'at'>): void;
  policyOf(service: string): RolloutPolicy | undefined;
  newId(): string;
  /** false for simulations that drive analyze() themselves. */
  timers?: boolean;
  /** With several replicas: writes carry the lease's fencing token, so a stale leader is refused. */
  fenced?: FencedWriter;
  /** With several replicas: other replicas' rollout changes, to keep status current on followers. */
  feed?: ChangeFeed;
  /** Docker pools: creates and removes containers for image rollouts. */
  fleet?: CanaryFleet;
  /** veer's own health checks: a canary gets no traffic before it passed them. */
  gate?: CanaryGate;
}

export interface FencedWriter {
  putFenced<T>(
    key: string,
    value: T,
    expectedVersion: number | undefined,
    token: number,
  ): Promise<PutResult | { ok: false; reason: 'fenced'; currentFence: number }>;
}
