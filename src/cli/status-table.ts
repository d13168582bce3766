// Renders `veer status` as an aligned text table: one row per service, both pools side by side.
import type { PoolMetrics, PoolStatus, ServiceStatus } from '../api/ports.js';

const HEADER = ['SERVICE', 'WEIGHT', 'STABLE', 'CANARY', 'REQ S/C', 'ERR% S/C', 'P99 S/C', 'ROLLOUT'] as const;

/** "healthy/total", where an ejected target does not count as healthy: it gets no traffic. */
export function targetCounts(pool: PoolStatus): string {
  const healthy = pool.targets.filter((t) => t.healthy && !t.ejected).length;
  return `${healthy}/${pool.targets.length}`;
}

const errorPercent = (m: PoolMetrics): string => (m.requests === 0 ? '-' : `${(m.errorRate * 100).toFixed(2)}`);
const p99 = (m: PoolMetrics): string => (m.requests === 0 ? '-' : `${Math.round(m.p99Ms)}ms`);

export function statusRow(s: ServiceStatus): string[] {
  const { stable, canary } = s.metrics;
  return [
    s.name,
    `${s.weight}%`,
    targetCounts(s.pools.stable),
    targetCounts(s.pools.canary),
    `${stable.requests}/${canary.requests}`,
    `${errorPercent(stable)}/${errorPercent(canary)}`,
    `${p99(stable)}/${p99(canary)}`,
    s.rollout ? s.rollout.phase : '-',
  ];
}

export function formatStatusTable(services: readonly ServiceStatus[]): string {
  if (services.length === 0) return 'no services configured';
  const rows: string[][] = [[...HEADER], ...services.map(statusRow)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd());
  const window = services[0]?.metrics.stable.window;
  if (window) lines.push(`(requests, errors and p99 over the last ${window}; targets healthy/total)`);
  return lines.join('\n');
}
