// Renders `veer history` as an aligned text table, newest first: one row per rollout with what it
// rolled out, how it ended and why.
import type { RolloutHistoryEntry } from '../api/ports.js';
import { aligned } from './status-table.js';

const HEADER = ['ID', 'STRATEGY', 'OUTCOME', 'STARTED', 'DURATION', 'CANARY', 'REASON'] as const;
/** Long reasons (a verdict's checks) are cut: `--json` has them whole. */
const REASON_MAX = 80;

/** "45s", "3m05s", "2h10m". */
export function elapsed(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "2024-05-01 12:00:03" (UTC, like the API's times). */
const started = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, '');

function canaryCell(c: RolloutHistoryEntry['canary']): string {
  if ('targets' in c) return c.targets.join(',');
  return `${c.image} x${c.count}${c.env.length > 0 ? ` ${c.env.join(' ')}` : ''}`;
}

function outcome(e: RolloutHistoryEntry): string {
  return e.origin ? `${e.phase} (${e.origin.kind} of ${e.origin.of.slice(0, 8)})` : e.phase;
}

export function historyRow(e: RolloutHistoryEntry, now: number): string[] {
  const end = e.endedAt === null ? now : Date.parse(e.endedAt);
  const reason = e.reason ?? '-';
  return [
    e.id.slice(0, 8),
    e.strategy,
    outcome(e),
    started(e.startedAt),
    `${elapsed(end - Date.parse(e.startedAt))}${e.endedAt === null ? '+' : ''}`,
    canaryCell(e.canary),
    reason.length > REASON_MAX ? `${reason.slice(0, REASON_MAX - 1)}…` : reason,
  ];
}

export function formatHistoryTable(service: string, entries: readonly RolloutHistoryEntry[], now: number): string {
  if (entries.length === 0) return `${service}: no rollouts yet`;
  return aligned([[...HEADER], ...entries.map((e) => historyRow(e, now))]).join('\n');
}
