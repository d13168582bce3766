import type { Result } from '../domain/errors.js';
export interface TargetStatus { id: string; healthy: boolean; ejected: boolean; outstanding: number }
export interface PoolStatus { targets: TargetStatus[] }
export interface PoolMetrics { window: string; requests: number; errors: number; errorRate: number; p50Ms: number; p95Ms: number; p99Ms: number }
export interface RolloutStatus { id: string; strategy: string; phase: string; step: number; weight: number; reason: string | null; startedAt: string; updatedAt: string }
export interface ServiceStatus {
  name: string; weight: number /* percent, 2 decimals */; match: { hosts: string[]; pathPrefix: string };
  sticky: { cookie: string } | null;
  pools: { stable: PoolStatus; canary: PoolStatus };
  metrics: { stable: PoolMetrics; canary: PoolMetrics };
  rollout: RolloutStatus | null;
}
export interface ServiceDirectory {
  list(): ServiceStatus[];
  get(name: string): ServiceStatus | undefined;
  /** weightBp: basis points 0..10000. Errors: NotFoundError, ConflictError … as values. */
  shift(name: string, weightBp: number): Promise<Result<ServiceStatus>>;
}
export interface ReadyState { ready: boolean; checks: Record<string, 'ok' | 'degraded' | 'failing'>; }
export interface ClusterView { self: string; leader: string | null; replicas: Array<{ id: string; seenAt: string }> }
export interface AdminDeps {
  services: ServiceDirectory;
  metricsText(): string;
  readiness(): ReadyState;
  cluster(): ClusterView;
  token: string;            // '' = no auth
  version: string;
}
