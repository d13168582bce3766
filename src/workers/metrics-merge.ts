// The primary's side of exact metrics: a worker's report added into the primary's own windows, so the
// judge, /v1/services, the dashboard and /metrics read one pool as if one process had seen all the
// traffic. The primary serves no traffic itself, so its windows hold the workers' sum and nothing
// else; with Redis replicas its flusher ships that sum once, like any replica's own seconds.
import type { AnswerCounts, VeerAnswer } from '../dataplane/answers.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import type { MetricsReport } from './messages.js';

export interface MergeInto {
  registry: Pick<MetricsRegistry, 'pool'>;
  answers: Pick<AnswerCounts, 'add'>;
  /** A service the primary routes now (a report may still name one a reload removed). */
  known(service: string): boolean;
}

/** Seconds that could not be merged (older than the window, or not on our bucket edges). */
export function mergeReport(r: MetricsReport, into: MergeInto): number {
  let refused = 0;
  for (const p of r.pools) {
    if (!into.known(p.service)) continue;
    const window = into.registry.pool(p.service, p.pool);
    for (const rec of p.seconds) if (window.mergeSecond(rec) !== 'merged') refused++;
    window.addLifetime(p.lifetime);
    for (const id of p.failed ?? []) window.failed.note(id);
  }
  // The codes are the workers' own AnswerCounts keys: the same build, so the same union.
  for (const [code, n] of r.answers) into.answers.add(code as VeerAnswer, n);
  return refused;
}
