import type { Result } from '../domain/errors.js';
import type { Maintenance, MaintenanceMode } from '../domain/maintenance.js';
import type { GateName } from '../domain/gate.js';
import type { TargetAddress } from '../domain/target.js';
import type { RecentFigures, SeriesColumns } from '../metrics/series.js';
/** `health`: unchecked (no health check), pending (new, not yet passed: no traffic), healthy, unhealthy. */
export interface TargetStatus {
  id: string;
  healthy: boolean;
  health: 'unchecked' | 'pending' | 'healthy' | 'unhealthy';
  ejected: boolean;
  outstanding: number;
  /**
   * A Docker container whose engine does not answer: routed on its last known membership. Always
   * set by this version (older servers, which the CLI may talk to, answer without it).
   */
  stale?: boolean;
}
export interface PoolStatus {
  targets: TargetStatus[];
}
export interface PoolMetrics {
  window: string;
  requests: number;
  errors: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
}
import type { Phase, RolloutEvent, RolloutPolicy, Verdict } from '../domain/rollout.js';
import type { TargetingRule } from '../domain/targeting.js';

/** Contract fields first (id … updatedAt); the rest is detail for status and the CLI. */
export interface RolloutStatus {
  id: string;
  strategy: string;
  phase: Phase;
  step: number;
  weight: number;
  reason: string | null;
  startedAt: string;
  updatedAt: string;
  /** Number of steps (canary) or 2 (blue-green: preview, switched). */
  steps: number[];
  stepStartedAt: string;
  failures: number;
  canary: { targets: string[] };
  lastVerdict: Verdict | null;
  /** The rollout's targeting rules, when it has any (they route only while its canary is routed). */
  targeting?: TargetingRule[];
  /** The gate the rollout waits for (null: none): asked since `since`, refused `refusals` times. */
  gate?: { name: GateName; since: string; refusals: number; lastRefusal: string | null } | null;
}

/** Validated rollout request (durations already in ms). */
export interface RolloutRequest {
  canary: { targets: string[] } | { image: string; env: string[]; count: number | null };
  rollout: Record<string, unknown>;
}

export type RolloutAction = 'promote' | 'abort' | 'pause' | 'resume';

export interface RolloutControl {
  /** The service's configured rollout policy (undefined: no such service). */
  policyOf(service: string): RolloutPolicy | undefined;
  /**
   * 201 with the new rollout; `policy`: the service's policy with the request's overrides, validated
   * here in the API layer. Errors as values: NotFoundError, ConflictError (one at a time), ValidationError.
   */
  start(service: string, req: RolloutRequest, policy: RolloutPolicy): Promise<Result<RolloutStatus>>;
  /** ConflictError (409) naming the phase when the action is invalid in the current phase. */
  act(
    service: string,
    action: RolloutAction,
    opts: { full: boolean; reason: string | null },
  ): Promise<Result<RolloutStatus>>;
}

/** One rollout of a service's history (newest first in the list; the running one has `endedAt` null). */
export interface RolloutHistoryEntry {
  id: string;
  strategy: string;
  /** The final phase: succeeded, rolled-back or aborted (or the current one while it runs). */
  phase: Phase;
  reason: string | null;
  startedAt: string;
  endedAt: string | null;
  canary: { targets: string[] } | { image: string; env: string[]; count: number };
  /** What was stable when it started (a Docker generation's env is not shown: it may hold secrets). */
  stable: { targets: string[] } | { generation: string | null; image: string | null; count: number | null };
  /** The request's overrides of the service's policy (durations in ms). */
  overrides: Record<string, unknown>;
  /** Set when it was started by `undo` or `retry`. */
  origin: { kind: 'undo' | 'retry'; of: string } | null;
  timeline: Array<{ at: string; kind: string; weight: number; note: string }>;
  /** Timeline entries left out because it was full. */
  timelineCut: number;
}

/** The service's policy with these overrides (durations in ms), validated by the API layer. */
export type PolicyResolver = (overrides: Record<string, unknown>) => Result<RolloutPolicy>;

export interface RolloutHistoryControl {
  /** Newest first, at most `limit`. NotFoundError for an unknown service. */
  history(service: string, limit: number): Promise<Result<RolloutHistoryEntry[]>>;
  /** Starts a rollout back to the generation before the newest promoted one (409 when there is none). */
  undo(service: string, resolve: PolicyResolver): Promise<Result<RolloutStatus>>;
  /** Starts the latest rollout again when it was rolled back or aborted (409 otherwise). */
  retry(service: string, resolve: PolicyResolver): Promise<Result<RolloutStatus>>;
}

export interface EventFeed {
  /** Newest last; `service` null = all services. */
  recent(service: string | null, limit: number): RolloutEvent[];
  /** Returns the unsubscribe function. */
  subscribe(service: string | null, listener: (e: RolloutEvent) => void): () => void;
}
export interface ServiceStatus {
  name: string;
  weight: number /* percent, 2 decimals */;
  match: { hosts: string[]; pathPrefix: string };
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
export interface ReadyState {
  ready: boolean;
  checks: Record<string, 'ok' | 'degraded' | 'failing'>;
}
export interface ClusterView {
  self: string;
  leader: string | null;
  replicas: Array<{ id: string; seenAt: string; adminUrl?: string }>;
}
/** `GET /v1/workers`: the data-plane processes of this replica (`workers`). */
export interface WorkersView {
  /** Data-plane processes; 1: this process serves traffic itself and `workers` is empty. */
  count: number;
  primary: { pid: number };
  /** The primary's newest snapshot, and how long its last change took to reach every worker. */
  snapshot: { version: number; lagMs: number | null };
  restarts: number;
  /**
   * `connections`: open, as the worker last said (when it took one, and once a second); `inFlight`: at its last
   * report (null: none yet); `loopDelayP99Ms`: its loop's delay at p99 over its last 10 s (null: none yet).
   */
  workers: Array<{
    id: number;
    pid: number;
    startedAt: string;
    listening: boolean;
    snapshotVersion: number;
    connections: number;
    inFlight: number | null;
    loopDelayP99Ms: number | null;
  }>;
}
/** `veer prune`: this installation's containers that no live pool or rollout claims. */
export interface PruneReport {
  dryRun: boolean;
  containers: Array<{
    endpoint: string;
    id: string;
    name: string;
    service: string;
    rollout: string | null;
    reason: string;
    removed: boolean;
    error?: string;
  }>;
  unreachable: Array<{ endpoint: string; error: string }>;
}
/** What a reload applied; `restart`: config paths whose change waits for a restart. */
export interface ReloadReport {
  added: string[];
  removed: string[];
  changed: string[];
  restart: string[];
  listen: string | null;
  token: boolean;
  webhooks: boolean;
}

/** The per-service maintenance switch (rollout/maintenance.ts). */
export interface MaintenanceControl {
  get(service: string): Result<Maintenance>;
  set(
    service: string,
    req: { on: boolean; mode: MaintenanceMode; retryAfterMs: number | null },
  ): Promise<Result<Maintenance>>;
}

/** The dashboard's per-second figures (metrics/series-book.ts), merged over replicas when they share Redis. */
export interface SeriesView {
  readonly source: 'local' | 'merged';
  /** How long after a second ends it is recorded. */
  readonly settleMs: number;
  /** The newest second recorded (epoch seconds), null before the first. */
  newest(): number | null;
  /** The last `seconds` seconds up to the newest; null when the service has none recorded yet. */
  columns(service: string, seconds: number): SeriesColumns | null;
  /** Both pools over the last RECENT_SECONDS (the overview's figures). */
  recent(service: string): Record<'stable' | 'canary', RecentFigures> | null;
  /** Called after each recorded second; returns the unsubscribe function. */
  onSecond(listener: (sec: number) => void): () => void;
}

/** The dashboard's login sessions. */
export interface UiSettings {
  sessionTtlMs: number;
  secureCookie: 'auto' | 'always' | 'never';
}

export interface AdminDeps {
  services: ServiceDirectory;
  rollouts: RolloutControl;
  events: EventFeed;
  metricsText(): string;
  readiness(): ReadyState;
  /** veer stops (its data plane drains): a change would wait for the next start, so it is refused. */
  stopping?(): boolean;
  cluster(): ClusterView;
  /** `GET /v1/workers` (absent: one process, no workers). */
  workers?(): WorkersView;
  /** Garbage collection of containers (Docker); errors as values (UnavailableError when no engine can be used). */
  prune?(dryRun: boolean): Promise<Result<PruneReport>>;
  /** Rollout history, undo and retry (absent: those routes answer 503). */
  history?: RolloutHistoryControl;
  /** Null when a canary target is not veer itself; else why it is ("veer's own data-plane listener …"). */
  isSelf(target: TargetAddress): string | null;
  /** '' = no auth; a function when a reload may change it. */
  token: string | (() => string);
  /** `POST /v1/reload` (absent: 503): re-reads the config file; an invalid one is a ConfigError. */
  reload?(): Promise<Result<ReloadReport>>;
  /** `GET|POST /v1/services/:name/maintenance` (absent: 503). */
  maintenance?: MaintenanceControl;
  version: string;
  /** `GET /v1/services/:name/series` and `GET /v1/series` (absent: 503). */
  series?: SeriesView;
  /** The dashboard's sessions (absent: a 12 h session, Secure over https). */
  ui?: UiSettings;
}
