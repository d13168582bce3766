// Prometheus text exposition format 0.0.4 for GET /metrics. Counters and histograms come from each
// window's lifetime totals (this process's own traffic only), so a Prometheus summing over
// replicas counts every request once.

import { assertNever } from '../domain/errors.js';
import { BUCKET_COUNT, bucketIndex, bucketUpperBoundMs } from './histogram.js';
import type { LifetimeTotals } from './window.js';

export interface ExtraMetric {
  name: string;
  help: string;
  type: 'gauge' | 'counter' | 'histogram';
  /** A histogram's samples carry their series' suffix (`_bucket`, `_sum`, `_count`) after the family's name. */
  samples: Array<{ labels: Record<string, string>; value: number; suffix?: '_bucket' | '_sum' | '_count' }>;
}

/** What rendering needs from the registry (a port, so tests can feed anything shaped like it). */
export interface LifetimeSource {
  entries(): ReadonlyArray<{ service: string; pool: string; window: { lifetime(): LifetimeTotals } }>;
}

/**
 * A ~20-edge subset of the histogram's edges (ms), so the exposition stays small. Each one is an
 * exact edge of histogram.ts, so every `le` count is exact rather than interpolated.
 */
const EXPOSED_EDGES_MS = [
  0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 25_000, 50_000, 100_000,
] as const;
const EXPOSED = EXPOSED_EDGES_MS.map((ms) => {
  const bucket = bucketIndex(ms);
  if (bucketUpperBoundMs(bucket) !== ms) throw new Error(`${ms} ms is not a histogram edge`);
  // Parsed from a decimal string so `le` prints as 0.0001, never 0.00010000000000000002.
  return { bucket, le: String(Number(`${ms}e-3`)) };
});

const ERROR_KINDS = ['5xx', 'connect', 'timeout', 'broken'] as const;
const REQUESTS = 'veer_requests_total';
const ERRORS = 'veer_request_errors_total';
const DURATION = 'veer_request_duration_seconds';
const DRAIN_CUT = 'veer_drain_cut_total';

type Labels = Record<string, string>;
type Pool = { labels: Labels; life: LifetimeTotals };

export function renderPrometheus(source: LifetimeSource, extra: readonly ExtraMetric[] = []): string {
  const pools: Pool[] = source.entries().map((e) => ({
    labels: { service: e.service, pool: e.pool },
    life: e.window.lifetime(),
  }));
  const out: string[] = [];
  family(out, REQUESTS, 'counter', 'Requests proxied, by service and pool.');
  for (const p of pools) out.push(sample(REQUESTS, p.labels, p.life.requests));
  family(
    out,
    ERRORS,
    'counter',
    'Failed requests: upstream 5xx, or the proxy could not connect, timed out, or got a broken answer.',
  );
  for (const p of pools) {
    for (const kind of ERROR_KINDS) out.push(sample(ERRORS, { ...p.labels, kind }, errorCount(p.life, kind)));
  }
  family(
    out,
    DURATION,
    'histogram',
    'Upstream latency: from the request (body included) handed to the upstream ' +
      'to its response headers (or the failure).',
  );
  for (const p of pools) renderHistogram(out, p);
  family(
    out,
    DRAIN_CUT,
    'counter',
    "Requests veer cut (504 drain_timeout) when a removed target's drain period ended; not counted as errors.",
  );
  for (const p of pools) out.push(sample(DRAIN_CUT, p.labels, p.life.drainCut ?? 0));
  renderExtras(out, extra);
  return `${out.join('\n')}\n`;
}

function errorCount(life: LifetimeTotals, kind: (typeof ERROR_KINDS)[number]): number {
  switch (kind) {
    case '5xx':
      return life.errors - life.connectErrors - life.timeouts - life.broken;
    case 'connect':
      return life.connectErrors;
    case 'timeout':
      return life.timeouts;
    case 'broken':
      return life.broken;
    default:
      return assertNever(kind, 'error kind');
  }
}

function renderHistogram(out: string[], p: Pool): void {
  let cumulative = 0;
  let next = 0;
  for (let i = 0; i < BUCKET_COUNT; i++) {
    cumulative += p.life.latency[i] as number;
    const edge = EXPOSED[next];
    if (edge && edge.bucket === i) {
      out.push(sample(`${DURATION}_bucket`, { ...p.labels, le: edge.le }, cumulative));
      next++;
    }
  }
  // +Inf and _count both come from the buckets, so they agree even if a total drifts elsewhere.
  out.push(sample(`${DURATION}_bucket`, { ...p.labels, le: '+Inf' }, cumulative));
  out.push(sample(`${DURATION}_sum`, p.labels, p.life.latencySumMs / 1000));
  out.push(sample(`${DURATION}_count`, p.labels, cumulative));
}

/** Samples of one name go under one HELP/TYPE (first wins); names of the built-ins are not overridable. */
function renderExtras(out: string[], extra: readonly ExtraMetric[]): void {
  const groups = new Map<string, { help: string; type: ExtraMetric['type']; lines: string[] }>();
  for (const m of extra) {
    const name = metricName(m.name);
    if (name === REQUESTS || name === ERRORS || name.startsWith(DURATION)) continue;
    let g = groups.get(name);
    if (!g) {
      g = { help: m.help, type: m.type, lines: [] };
      groups.set(name, g);
    }
    for (const s of m.samples) g.lines.push(sample(s.suffix === undefined ? name : name + s.suffix, s.labels, s.value));
  }
  for (const [name, g] of groups) {
    family(out, name, g.type, g.help);
    out.push(...g.lines);
  }
}

function family(out: string[], name: string, type: string, help: string): void {
  out.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
}

function sample(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${labelName(k)}="${escapeLabelValue(v)}"`);
  return `${name}${pairs.length > 0 ? `{${pairs.join(',')}}` : ''} ${formatValue(value)}`;
}

export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** An invalid name would make Prometheus reject the whole scrape, so it is repaired instead. */
function metricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[a-zA-Z_:]/.test(s) ? s : `_${s}`;
}

function labelName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[a-zA-Z_]/.test(s) ? s : `_${s}`;
}
