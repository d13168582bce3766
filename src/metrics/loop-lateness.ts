// Every loop-delay sample since start, counted into fixed buckets: the Prometheus histogram beside the
// 10 s window's quantiles. A window is fixed to when veer started, so it cannot be laid over a moment of
// one's own choosing (a benchmark's measured phase, an incident); two scrapes of cumulative counts can
// (`rate()`, or the difference of the two), and replicas' and workers' counts add up where quantiles do not.
import type { ExtraMetric } from './prometheus.js';

/** Bucket upper bounds, seconds of lateness beyond the sampling interval (+Inf is implied). */
export const LATENESS_EDGES_S = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10] as const;

/** Counts per bucket (the last one above every edge) and the sum of the samples, seconds. */
export interface LatenessCounts {
  buckets: number[];
  sum: number;
}

export class LatenessHistogram {
  private readonly buckets: number[] = new Array<number>(LATENESS_EDGES_S.length + 1).fill(0);
  private sum = 0;

  /** One sample, seconds (negative reads as 0: Node may run a timer up to a millisecond early, as it rounds). */
  record(lateS: number): void {
    const s = lateS > 0 ? lateS : 0;
    let i = 0;
    while (i < LATENESS_EDGES_S.length && s > LATENESS_EDGES_S[i]!) i++;
    this.buckets[i]!++;
    this.sum += s;
  }

  /** A copy: what a worker sends and a scrape shows. */
  counts(): LatenessCounts {
    return { buckets: [...this.buckets], sum: this.sum };
  }
}

/** A histogram family (cumulative `le` buckets, `_sum`, `_count`), one series per labelled source. */
export function latenessFamily(
  name: string,
  help: string,
  sources: ReadonlyArray<{ labels: Record<string, string>; counts: LatenessCounts }>,
): ExtraMetric {
  const samples: ExtraMetric['samples'] = [];
  for (const { labels, counts } of sources) {
    let cumulative = 0;
    LATENESS_EDGES_S.forEach((le, i) => {
      cumulative += counts.buckets[i] ?? 0;
      samples.push({ suffix: '_bucket', labels: { ...labels, le: String(le) }, value: cumulative });
    });
    cumulative += counts.buckets[LATENESS_EDGES_S.length] ?? 0;
    samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: cumulative });
    samples.push({ suffix: '_sum', labels, value: counts.sum });
    samples.push({ suffix: '_count', labels, value: cumulative });
  }
  return { name, help, type: 'histogram', samples };
}
