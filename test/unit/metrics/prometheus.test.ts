import { describe, expect, it } from 'vitest';
import { escapeLabelValue, renderPrometheus, type ExtraMetric } from '../../../src/metrics/prometheus.js';
import { MetricsRegistry } from '../../../src/metrics/registry.js';

const T0 = 1_700_000_000_000;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Parsed {
  help: Map<string, string>;
  type: Map<string, string>;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/;

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  let rest = s;
  for (let guard = 0; rest.length > 0; guard++) {
    if (guard > 50) throw new Error(`runaway label parse: ${s}`);
    const m = LABEL.exec(rest);
    if (!m) throw new Error(`bad labels: {${s}}`);
    if ((m[1] as string) in out) throw new Error(`duplicate label ${m[1]}`);
    out[m[1] as string] = unescape(m[2] as string);
    rest = rest.slice(m[0].length);
  }
  return out;
}

function parseValue(v: string): number {
  if (v === '+Inf') return Infinity;
  if (v === '-Inf') return -Infinity;
  if (v === 'NaN') return NaN;
  if (!/^-?\d+(\.\d+)?(e[-+]?\d+)?$/.test(v)) throw new Error(`bad value ${v}`);
  return Number(v);
}

/** A strict reader of text format 0.0.4 (what Prometheus would reject, this throws on). */
function parse(text: string): Parsed {
  expect(text.endsWith('\n')).toBe(true);
  const p: Parsed = { help: new Map(), type: new Map(), samples: [] };
  for (const line of text.slice(0, -1).split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
      const map = kind === 'HELP' ? p.help : p.type;
      if (map.has(name)) throw new Error(`second ${kind} for ${name}`);
      if (kind === 'TYPE' && p.samples.some((s) => s.name.startsWith(name)))
        throw new Error(`TYPE after samples: ${name}`);
      map.set(name, rest);
      continue;
    }
    const m = /^([^{\s]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || !NAME.test(m[1] as string)) throw new Error(`bad line: ${JSON.stringify(line)}`);
    p.samples.push({ name: m[1] as string, labels: parseLabels(m[2] ?? ''), value: parseValue(m[3] as string) });
  }
  return p;
}

function find(p: Parsed, name: string, labels: Record<string, string>): number | undefined {
  return p.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

function traffic(): MetricsRegistry {
  const r = new MetricsRegistry({ seconds: 60 });
  const w = r.pool('web', 'stable');
  for (let i = 0; i < 100; i++) w.record(T0 + i * 100, i < 5 ? 503 : 200, 0.2 + i * 3); // 0.2 … 297.2 ms
  w.recordFailure(T0, 'connect', 1);
  w.recordFailure(T0, 'timeout', 30_000);
  w.recordFailure(T0, 'timeout', 200_000); // beyond the last finite edge
  r.pool('odd "svc"\\\nx', 'canary').record(T0, 200, 7);
  return r;
}

describe('renderPrometheus', () => {
  it('renders counters per service and pool, with errors by kind', () => {
    const p = parse(renderPrometheus(traffic(), []));
    expect(p.type.get('veer_requests_total')).toBe('counter');
    expect(p.type.get('veer_request_errors_total')).toBe('counter');
    expect(p.type.get('veer_request_duration_seconds')).toBe('histogram');
    expect(find(p, 'veer_requests_total', { service: 'web', pool: 'stable' })).toBe(103);
    expect(find(p, 'veer_requests_total', { service: 'web', pool: 'canary' })).toBe(0);
    const errs = (kind: string) => find(p, 'veer_request_errors_total', { service: 'web', pool: 'stable', kind });
    expect([errs('5xx'), errs('connect'), errs('timeout'), errs('broken')]).toEqual([5, 1, 2, 0]);
  });

  it('counts an answer that broke off under its own kind, neither connect nor 5xx', () => {
    const r = traffic();
    r.pool('web', 'stable').recordFailure(T0, 'broken', 3);
    const p = parse(renderPrometheus(r, []));
    const errs = (kind: string) => find(p, 'veer_request_errors_total', { service: 'web', pool: 'stable', kind });
    expect([errs('5xx'), errs('connect'), errs('timeout'), errs('broken')]).toEqual([5, 1, 2, 1]);
  });

  it('escapes label values so they read back unchanged', () => {
    const name = 'odd "svc"\\\nx';
    expect(escapeLabelValue(name)).toBe('odd \\"svc\\"\\\\\\nx');
    const text = renderPrometheus(traffic(), []);
    expect(text).not.toContain('svc"\\\n'); // no raw newline inside a label
    const p = parse(text);
    expect(find(p, 'veer_requests_total', { service: name, pool: 'canary' })).toBe(1);
  });

  it('renders cumulative, monotonic buckets ending in +Inf = _count, with _sum in seconds', () => {
    const p = parse(renderPrometheus(traffic(), []));
    const labels = { service: 'web', pool: 'stable' };
    const buckets = p.samples.filter(
      (s) =>
        s.name === 'veer_request_duration_seconds_bucket' && s.labels.service === 'web' && s.labels.pool === 'stable',
    );
    expect(buckets.length).toBeGreaterThanOrEqual(15);
    expect(buckets.length).toBeLessThanOrEqual(25);
    expect(buckets.at(-1)?.labels.le).toBe('+Inf');
    for (let i = 1; i < buckets.length; i++) {
      expect(parseValue(buckets[i]?.labels.le as string)).toBeGreaterThan(
        parseValue(buckets[i - 1]?.labels.le as string),
      );
      expect(buckets[i]?.value).toBeGreaterThanOrEqual(buckets[i - 1]?.value as number);
    }
    expect(find(p, 'veer_request_duration_seconds_bucket', { ...labels, le: '0.001' })).toBe(2); // 0.2 ms and 1 ms
    expect(find(p, 'veer_request_duration_seconds_bucket', { ...labels, le: '0.1' })).toBe(35); // up to 99.2 ms, + 1 ms
    expect(find(p, 'veer_request_duration_seconds_bucket', { ...labels, le: '100' })).toBe(102);
    expect(find(p, 'veer_request_duration_seconds_bucket', { ...labels, le: '+Inf' })).toBe(103);
    expect(find(p, 'veer_request_duration_seconds_count', labels)).toBe(103);
    const expectedSumMs = 100 * 0.2 + (3 * (99 * 100)) / 2 + 1 + 30_000 + 200_000;
    expect(find(p, 'veer_request_duration_seconds_sum', labels)).toBeCloseTo(expectedSumMs / 1000, 9);
  });

  it('adds extra gauges with HELP/TYPE once per name and repairs invalid names', () => {
    const extra: ExtraMetric[] = [
      {
        name: 'veer_weight',
        help: 'Canary weight\nin percent \\ share.',
        type: 'gauge',
        samples: [{ labels: { service: 'web' }, value: 25.5 }],
      },
      { name: 'veer_weight', help: 'ignored', type: 'gauge', samples: [{ labels: { service: 'a"b' }, value: 0 }] },
      { name: 'veer_up', help: 'Up.', type: 'gauge', samples: [{ labels: {}, value: 1 }] },
      {
        name: '1bad-name',
        help: 'Bad.',
        type: 'counter',
        samples: [{ labels: { 'bad-label': 'x' }, value: Infinity }],
      },
      { name: 'veer_requests_total', help: 'clash', type: 'gauge', samples: [{ labels: {}, value: 9 }] },
    ];
    const p = parse(renderPrometheus(traffic(), extra));
    expect(p.help.get('veer_weight')).toBe('Canary weight\\nin percent \\\\ share.');
    expect(find(p, 'veer_weight', { service: 'web' })).toBe(25.5);
    expect(find(p, 'veer_weight', { service: 'a"b' })).toBe(0);
    expect(find(p, 'veer_up', {})).toBe(1);
    expect(p.type.get('_1bad_name')).toBe('counter');
    expect(find(p, '_1bad_name', { bad_label: 'x' })).toBe(Infinity);
    // The clash with a built-in was not added: only the 2 services × 2 pools remain.
    expect(p.samples.filter((s) => s.name === 'veer_requests_total').map((s) => s.value)).toEqual([103, 0, 0, 1]);
  });

  it('renders an empty registry as just the headers', () => {
    const p = parse(renderPrometheus(new MetricsRegistry()));
    expect(p.samples).toEqual([]);
    expect([...p.type.keys()]).toEqual([
      'veer_requests_total',
      'veer_request_errors_total',
      'veer_request_duration_seconds',
      'veer_drain_cut_total',
    ]);
  });
});
