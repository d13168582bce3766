// What the judge and the balancer know of a service's pools, read from the outside: the Prometheus
// counters (lifetime requests, errors by kind, latency histogram, drain cuts) and each target's
// outlier and health state. Tests of client faults assert that none of it moved.
import { expect } from 'vitest';
import type { PoolName } from '../../src/domain/pool.js';
import { http, type TestVeer } from './veer.js';

export interface PoolCounters {
  requests: number;
  errors: number;
  /** Histogram sum, seconds. */
  latencySum: number;
  /** Observations at or below 100 ms. */
  fastRequests: number;
  /** Observations at or below 500 ms. */
  underHalfSecond: number;
  drainCut: number;
}

export interface ServiceCounters {
  stable: PoolCounters;
  canary: PoolCounters;
  /** Target ids ejected, and ids with a failure streak towards ejection. */
  ejected: string[];
  failing: string[];
}

function value(text: string, name: string, labels: Record<string, string>): number {
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    if (!Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export async function countersOf(v: TestVeer, service = 'web'): Promise<ServiceCounters> {
  const r = await http(`${v.adminUrl}/metrics`);
  expect(r.status).toBe(200);
  const pool = (p: PoolName): PoolCounters => {
    const l = { service, pool: p };
    return {
      requests: value(r.text, 'veer_requests_total', l),
      errors: value(r.text, 'veer_request_errors_total', l),
      latencySum: value(r.text, 'veer_request_duration_seconds_sum', l),
      fastRequests: value(r.text, 'veer_request_duration_seconds_bucket', { ...l, le: '0.1' }),
      underHalfSecond: value(r.text, 'veer_request_duration_seconds_bucket', { ...l, le: '0.5' }),
      drainCut: value(r.text, 'veer_drain_cut_total', l),
    };
  };
  const targets = [...v.plane.targets(service, 'stable'), ...v.plane.targets(service, 'canary')];
  return {
    stable: pool('stable'),
    canary: pool('canary'),
    ejected: targets.filter((t) => t.ejected).map((t) => t.id),
    failing: targets.filter((t) => t.failureStreak > 0).map((t) => t.id),
  };
}

/** Nothing the judge or the balancer reads moved between `before` and now. */
export async function expectUntouched(v: TestVeer, before: ServiceCounters, service = 'web'): Promise<void> {
  const now = await countersOf(v, service);
  expect(now.stable, 'stable pool counters').toEqual(before.stable);
  expect(now.canary, 'canary pool counters').toEqual(before.canary);
  expect(now.ejected, 'ejected targets').toEqual([]);
  expect(now.failing, 'targets with a failure streak').toEqual([]);
}
