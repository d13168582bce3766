// One frame of `veer status --watch` as lines (pure): a header saying what is shown and how fresh it
// is, every service's weight, rollout, both pools' req/s, error rate, p99 and targets; for one service,
// its rollout's detail and its latest events.
import type { PoolMetrics, ServiceStatus } from '../api/ports.js';
import { parseDuration } from '../domain/duration.js';
import type { RolloutEvent } from '../domain/rollout.js';
import { aligned, errorPercent, p99, rolloutCell, rolloutDetail, targetCounts } from './status-table.js';

export interface WatchView {
  /** null until the first answer. */
  services: ServiceStatus[] | null;
  /** The one service asked for (detail), or null for all. */
  service: string | null;
  /** The service's latest events, newest last (detail only). */
  events: RolloutEvent[];
  /** Why the admin API cannot be read now (the last answer stays shown), or null. */
  problem: string | null;
  /** The event stream is open (refreshes come on events, not only on the interval). */
  live: boolean;
  intervalMs: number;
  /** When `services` was read (epoch ms). */
  at: number | null;
}

const HEADER = ['SERVICE', 'WEIGHT', 'ROLLOUT', 'REQ/S S/C', 'ERR% S/C', 'P99 S/C', 'TARGETS S/C'] as const;
export const EVENT_LINES = 8;

export function watchFrame(v: WatchView): string[] {
  // The connection's trouble has a line of its own: piped output prints a block when it changes.
  const lines = [headerLine(v), v.problem === null ? '' : `reconnecting… ${v.problem}`];
  if (v.services === null) return [...lines, v.problem === null ? 'loading…' : 'waiting for the admin API…'];
  if (v.services.length === 0) return [...lines, 'no services configured'];
  lines.push(...aligned([[...HEADER], ...v.services.map(watchRow)]));
  const window = v.services[0]?.metrics.stable.window;
  if (window) lines.push(`(req/s, errors and p99 over the last ${window}; targets healthy/total)`);
  const only = v.service === null ? undefined : v.services[0];
  if (only === undefined) return lines;
  lines.push('', ...(only.rollout ? rolloutDetail(only.rollout) : ['no rollout']));
  lines.push(
    '',
    'latest events:',
    ...(v.events.length === 0 ? ['  none yet'] : v.events.slice(-EVENT_LINES).map(eventLine)),
  );
  return lines;
}

/** What is shown and how fresh it is, the connection first: a narrow terminal cuts the end. */
function headerLine(v: WatchView): string {
  const link = v.problem !== null ? 'reconnecting…' : v.live ? 'live' : 'polling';
  const at = v.at === null ? 'not read yet' : `read at ${clock(v.at)}`;
  const what = v.service ?? 'all services';
  return `veer status --watch · ${what} · ${link} · ${at} · every ${v.intervalMs / 1000}s · Ctrl+C quits`;
}

export function watchRow(s: ServiceStatus): string[] {
  const { stable, canary } = s.metrics;
  return [
    s.name,
    `${s.weight}%`,
    s.rollout ? rolloutCell(s.rollout) : '-',
    `${perSecond(stable)}/${perSecond(canary)}`,
    `${errorPercent(stable)}/${errorPercent(canary)}`,
    `${p99(stable)}/${p99(canary)}`,
    `${targetCounts(s.pools.stable)} ${targetCounts(s.pools.canary)}`,
  ];
}

/** Requests per second over the metrics window ("60s"); one decimal below 100. */
export function perSecond(m: PoolMetrics): string {
  const w = parseDuration(m.window);
  if (!w.ok || w.ms <= 0) return String(m.requests);
  const rate = m.requests / (w.ms / 1000);
  return rate >= 100 ? String(Math.round(rate)) : rate.toFixed(1);
}

function eventLine(e: RolloutEvent): string {
  return `  ${clock(Date.parse(e.at))}  ${e.kind.padEnd(12)}  ${e.message}`;
}

/** HH:MM:SS in UTC, like the API's timestamps. */
function clock(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 19) : '--:--:--';
}
