// Renders `veer status` as an aligned text table: one row per service, both pools side by side;
// for one service, the evidence behind its rollout's last verdict; and `rollout --wait`'s
// progress line.
import type { PoolMetrics, PoolStatus, RolloutStatus, ServiceStatus } from '../api/ports.js';
import type { CheckResult, PoolEvidence, Verdict } from '../domain/rollout.js';

const HEADER = ['SERVICE', 'WEIGHT', 'STABLE', 'CANARY', 'REQ S/C', 'ERR% S/C', 'P99 S/C', 'ROLLOUT'] as const;

/** "healthy/total", where an ejected target does not count as healthy: it gets no traffic. */
export function targetCounts(pool: PoolStatus): string {
  const healthy = pool.targets.filter((t) => t.healthy && !t.ejected).length;
  return `${healthy}/${pool.targets.length}`;
}

export const errorPercent = (m: PoolMetrics): string => (m.requests === 0 ? '-' : `${(m.errorRate * 100).toFixed(2)}`);
export const p99 = (m: PoolMetrics): string => (m.requests === 0 ? '-' : `${Math.round(m.p99Ms)}ms`);

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
    s.rollout ? rolloutCell(s.rollout) : '-',
  ];
}

/** "progressing 2/5 10%": phase, step k of n (1-based), the rollout's weight. */
export function rolloutCell(r: RolloutStatus): string {
  // Older servers answer without the step plan: the phase alone is still right.
  if (!Array.isArray(r.steps) || r.steps.length === 0) return r.phase;
  return `${r.phase} ${stepOf(r)} ${r.weight}%`;
}

const stepOf = (r: RolloutStatus): string => `${Math.min(r.step + 1, r.steps.length)}/${r.steps.length}`;

export interface TableOptions {
  /** Add the rollout's last verdict and its evidence (default: when exactly one service is shown). */
  detail?: boolean;
}

export function formatStatusTable(services: readonly ServiceStatus[], opts: TableOptions = {}): string {
  if (services.length === 0) return 'no services configured';
  const lines = aligned([[...HEADER], ...services.map(statusRow)]);
  const window = services[0]?.metrics.stable.window;
  if (window) lines.push(`(requests, errors and p99 over the last ${window}; targets healthy/total)`);
  const only = services.length === 1 ? services[0] : undefined;
  if ((opts.detail ?? true) && only?.rollout) lines.push('', ...rolloutDetail(only.rollout));
  return lines.join('\n');
}

/** The rows as lines, each column as wide as its widest cell. */
export function aligned(rows: readonly string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

const pct = (rate: number): string => `${(rate * 100).toFixed(2)}%`;
const ms = (v: number): string => `${Math.round(v)}ms`;

/** `step 2/5 weight 10% | canary err 0.40% p99 12ms | stable err 0.38% p99 11ms | pass: …` */
export function progressLine(s: ServiceStatus): string {
  const r = s.rollout;
  if (!r) return `${s.name}: no rollout`;
  // No requests, no figures: "err 0.00% p99 0ms" would read as a measured, healthy pool in a CI log.
  const figures = (e: { requests: number; errorRate: number; p99Ms: number }): string =>
    e.requests === 0 ? 'err - p99 -' : `err ${pct(e.errorRate)} p99 ${ms(e.p99Ms)}`;
  // This rollout's own evidence, from its last verdict. Before one, the pools' sliding window is all there
  // is, and it may still hold the previous canary's requests: it is labelled as such.
  const v = r.lastVerdict;
  const { canary, stable } = v ?? s.metrics;
  const parts = [
    `step ${stepOf(r)} weight ${r.weight}%`,
    `${v ? '' : `last ${s.metrics.canary.window}: `}canary ${figures(canary)}`,
    `stable ${figures(stable)}`,
    v ? `${v.result}: ${v.reason}` : 'no verdict yet',
    ...(r.gate ? [gateText(r.gate)] : []),
  ];
  // The usual phase goes without saying; any other one leads the line.
  return r.phase === 'progressing'
    ? parts.join(' | ')
    : [r.phase + (r.reason ? ` (${r.reason})` : ''), ...parts].join(' | ');
}

export function rolloutDetail(r: RolloutStatus): string[] {
  const head =
    `rollout ${r.id} (${r.strategy}): ${rolloutCell(r)}, ` +
    `consecutive failures ${r.failures ?? 0}, started ${r.startedAt}`;
  const lines = [head];
  if (r.reason) lines.push(`reason: ${r.reason}`);
  if (r.gate) lines.push(`${gateText(r.gate)} (since ${r.gate.since})`);
  if (!r.lastVerdict) return [...lines, 'no verdict yet'];
  return [...lines, ...verdictLines(r.lastVerdict)];
}

function gateText(g: NonNullable<RolloutStatus['gate']>): string {
  return g.lastRefusal === null
    ? `gate ${g.name}: asking`
    : `gate ${g.name}: refused ${g.refusals}× (${g.lastRefusal})`;
}

function verdictLines(v: Verdict): string[] {
  const pools = (name: string, e: PoolEvidence): string[] => [
    name,
    String(e.requests),
    String(e.errors),
    pct(e.errorRate),
    ms(e.p99Ms),
  ];
  const checks = v.checks.map((c) => [
    c.name,
    c.status,
    observed(c, c.observed),
    observed(c, c.limit),
    c.pValue.toFixed(3),
    c.note,
  ]);
  return [
    `last verdict: ${v.result}${v.failFast ? ' (fail fast)' : ''} at ${new Date(v.at).toISOString()}: ${v.reason}`,
    ...align([['POOL', 'REQUESTS', 'ERRORS', 'ERR%', 'P99'], pools('canary', v.canary), pools('stable', v.stable)]),
    ...align([['CHECK', 'STATUS', 'OBSERVED', 'LIMIT', 'P-VALUE', 'NOTE'], ...checks]),
  ];
}

function observed(c: CheckResult, v: number | null): string {
  if (v === null) return '-';
  return c.name === 'error-rate' || c.name === 'error-rate-vs-stable' ? pct(v) : ms(v);
}

function align(rows: string[][]): string[] {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map(
    (r) =>
      `  ${r
        .map((cell, i) => cell.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd()}`,
  );
}
