// The judge's findings in words, for operators reading a rollout's status or events: why a check
// failed. Apart from judge.ts so that the statistics read without the wording.
import type { CheckResult } from '../domain/rollout.js';

export function describeFailure(c: CheckResult): string {
  const pv = `p=${c.pValue < 1e-4 ? c.pValue.toExponential(1) : c.pValue.toFixed(4)}`;
  switch (c.name) {
    case 'error-rate':
      return `canary error rate ${pct(c.observed ?? 0)} exceeds maxErrorRate ${pct(c.limit ?? 0)} (${pv})`;
    case 'error-rate-vs-stable':
      return `canary error rate ${pct(c.observed ?? 0)} is higher than stable's (limit ${pct(c.limit ?? 0)}, ${pv})`;
    case 'latency':
      return `canary p99 ${ms(c.observed ?? 0)} exceeds maxP99Ms ${ms(c.limit ?? 0)} (${pv})`;
    case 'latency-vs-stable':
      return `canary p99 ${ms(c.observed ?? 0)} exceeds stable p99 × ratio (${ms(c.limit ?? 0)}, ${pv})`;
    case 'median-vs-stable':
      return `canary median ${ms(c.observed ?? 0)} exceeds stable median × ratio (${ms(c.limit ?? 0)}, ${pv})`;
    case 'route-errors-vs-stable':
      return (
        `route ${c.route ?? '?'}: canary error rate ${pct(c.observed ?? 0)} is higher than stable's there ` +
        `(limit ${pct(c.limit ?? 0)}, ${pv}, ${c.note})`
      );
    case 'route-latency-vs-stable':
      return `route ${c.route ?? '?'}: canary slower than stable's p99 × ratio there (${pv}, ${c.note})`;
    case 'client-errors-vs-stable':
      return `canary 4xx rate ${pct(c.observed ?? 0)} is higher than stable's (limit ${pct(c.limit ?? 0)}, ${pv})`;
  }
}

export const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
export const ms = (x: number): string => `${x.toFixed(1)}ms`;
