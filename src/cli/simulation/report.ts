// `veer simulate`'s output: an aligned text report for a person, or one JSON object with the same
// figures for a script. The policy is printed in config form so it can be pasted into `rollout:`.
import type { OutcomeFigures, ReasonCount, Summary } from './summary.js';
import { OUTCOMES } from './summary.js';

export interface ReportContext {
  scenario: string;
  seeds: { first: number; last: number };
  maxSeconds: number;
  /** Defaults applied, config form. */
  policy: Record<string, unknown>;
}

export function jsonReport(s: Summary, c: ReportContext): Record<string, unknown> {
  return {
    scenario: c.scenario,
    runs: s.runs,
    seeds: c.seeds,
    maxSeconds: c.maxSeconds,
    outcomes: s.outcomes,
    exposure: s.exposure,
    reasons: s.reasons,
    policy: c.policy,
  };
}

export function textReport(s: Summary, c: ReportContext): string[] {
  const { first, last } = c.seeds;
  return [
    `${c.scenario}: ${s.runs} rollouts (seed${first === last ? ` ${first}` : `s ${first}-${last}`}), ` +
      `at most ${c.maxSeconds} virtual seconds each`,
    '',
    ...outcomeTable(s),
    '(seconds: virtual time to the outcome; steps: median number of weights the canary was given)',
    '',
    `exposure (failed canary requests before the outcome): median ${s.exposure.median}, ` +
      `p99 ${s.exposure.p99}, max ${s.exposure.max}`,
    '',
    ...reasonLines(s.reasons),
    '',
    'policy (defaults applied):',
    ...Object.entries(c.policy).map(([k, v]) => `  ${k}: ${policyValue(v)}`),
  ];
}

/** As YAML would take it back: a list of numbers as `[5, 25, 100]`, a mapping (gates) in flow form (JSON). */
export function policyValue(v: unknown): string {
  if (Array.isArray(v) && v.every((x) => typeof x !== 'object' || x === null)) return `[${v.join(', ')}]`;
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

const HEADER = ['OUTCOME', 'RUNS', 'SHARE', 'MEDIAN S', 'P90 S', 'P99 S', 'MAX S', 'STEPS'];

function outcomeTable(s: Summary): string[] {
  const rows = [HEADER, ...OUTCOMES.map((o) => [o, ...outcomeCells(s.outcomes[o])])];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  // Names left, figures right: columns of numbers are read by their last digits.
  return rows.map((r) =>
    r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '),
  );
}

function outcomeCells(f: OutcomeFigures): string[] {
  const t = f.seconds;
  const seconds = t === null ? ['-', '-', '-', '-'] : [t.median, t.p90, t.p99, t.max].map(String);
  return [String(f.runs), `${(f.share * 100).toFixed(1)}%`, ...seconds, f.steps === null ? '-' : String(f.steps)];
}

function reasonLines(reasons: readonly ReasonCount[]): string[] {
  if (reasons.length === 0) return ['no rollout was rolled back or paused'];
  const width = Math.max(...reasons.map((r) => String(r.count).length));
  const pad = ' '.repeat(width + 4);
  return [
    `most frequent reasons to roll back or pause (numbers shown as N):`,
    ...reasons.flatMap((r) => [
      `  ${String(r.count).padStart(width)}  ${r.outcome}: ${r.reason}`,
      `${pad}e.g. seed ${r.example.seed}: ${r.example.reason}`,
    ]),
  ];
}
