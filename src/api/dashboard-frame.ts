// One frame of the dashboard's live stream: every service's state and figures, built once per
// recorded second for all open streams (never per stream), small enough for 200 services a second.
import type { RecentFigures } from '../metrics/series.js';
import type { PoolStatus, SeriesView, ServiceStatus } from './ports.js';

type PoolName = 'stable' | 'canary';

export interface PointNow {
  requests: number | null;
  errors: number | null;
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface FrameService {
  name: string;
  weight: number;
  phase: string | null;
  step: number | null;
  steps: number | null;
  health: Record<PoolName, { healthy: number; total: number }>;
  recent: Record<PoolName, RecentFigures> | null;
  /** The second `Frame.sec` itself, for charts that append live. */
  point: Record<PoolName, PointNow> | null;
}

export interface Frame {
  sec: number | null;
  source: SeriesView['source'];
  services: FrameService[];
}

function health(p: PoolStatus): { healthy: number; total: number } {
  const healthy = p.targets.filter((t) => !t.ejected && (t.health === 'healthy' || t.health === 'unchecked')).length;
  return { healthy, total: p.targets.length };
}

function pointAt(series: SeriesView, name: string, sec: number | null): FrameService['point'] {
  if (sec === null) return null;
  const c = series.columns(name, 1);
  if (!c || c.t[0] !== sec) return null;
  const at = (pool: PoolName): PointNow => ({
    requests: c[pool].requests[0] ?? null,
    errors: c[pool].errors[0] ?? null,
    p50Ms: c[pool].p50Ms[0] ?? null,
    p99Ms: c[pool].p99Ms[0] ?? null,
  });
  return { stable: at('stable'), canary: at('canary') };
}

export function buildFrame(services: readonly ServiceStatus[], series: SeriesView): Frame {
  const sec = series.newest();
  return {
    sec,
    source: series.source,
    services: services.map((s) => ({
      name: s.name,
      weight: s.weight,
      phase: s.rollout?.phase ?? null,
      step: s.rollout?.step ?? null,
      steps: s.rollout?.steps.length ?? null,
      health: { stable: health(s.pools.stable), canary: health(s.pools.canary) },
      recent: series.recent(s.name),
      point: pointAt(series, s.name, sec),
    })),
  };
}
