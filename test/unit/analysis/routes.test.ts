import { describe, expect, it } from 'vitest';
import { emptyStats, judge, type Block, type Slice } from '../../../src/analysis/judge.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import type { Verdict } from '../../../src/domain/rollout.js';
import { BUCKET_COUNT, bucketIndex } from '../../../src/metrics/histogram.js';

const base = rolloutPolicySchema.parse({});

interface Part {
  requests: number;
  errors?: number;
  clientErrors?: number;
  ms: number;
}

/** A pool's traffic made of route groups, each at one latency. */
function pool(routes: Record<string, Part>, withRoutes = true): Slice {
  const latency = new Array<number>(BUCKET_COUNT).fill(0);
  const out: Record<string, Slice> = {};
  let [requests, errors, clientErrors] = [0, 0, 0];
  for (const [name, p] of Object.entries(routes)) {
    const h = new Array<number>(BUCKET_COUNT).fill(0);
    h[bucketIndex(p.ms)] = p.requests;
    latency[bucketIndex(p.ms)] = (latency[bucketIndex(p.ms)] as number) + p.requests;
    out[name] = { requests: p.requests, errors: p.errors ?? 0, clientErrors: p.clientErrors ?? 0, latency: h };
    requests += p.requests;
    errors += p.errors ?? 0;
    clientErrors += p.clientErrors ?? 0;
  }
  return { requests, errors, clientErrors, latency, ...(withRoutes ? { routes: out } : {}) };
}

/** Scales every count of a slice by 1/k (k seconds of the same traffic). */
function perSecond(s: Slice, k: number): Slice {
  const d = (v: number): number => Math.round(v / k);
  const routes = s.routes && Object.fromEntries(Object.entries(s.routes).map(([n, r]) => [n, perSecond(r, k)]));
  return {
    requests: d(s.requests),
    errors: d(s.errors),
    clientErrors: d(s.clientErrors ?? 0),
    latency: Array.from(s.latency, d),
    ...(routes ? { routes } : {}),
  };
}

/** Looks of `seconds` seconds each of the same traffic, until a verdict is not inconclusive (or `looks`). */
function run(canary: Slice, stable: Slice, policy = base, looks = 6, seconds = 5): Verdict {
  let stats = emptyStats();
  let failures = 0;
  let verdict: Verdict | null = null;
  for (let i = 0; i < looks; i++) {
    const block: Block = { canary: perSecond(canary, seconds), stable: perSecond(stable, seconds) };
    const r = judge({
      policy,
      delta: { canary, stable },
      seconds: Array.from({ length: seconds }, () => block),
      step: { canary, stable },
      stableRef: stable,
      stats,
      now: i * 5000,
      failures,
    });
    stats = r.stats;
    verdict = r.verdict;
    if (verdict.result === 'fail') failures++;
    if (failures >= 2 || verdict.result === 'pass') break;
  }
  return verdict as Verdict;
}

const failing = (v: Verdict): string[] => v.checks.filter((c) => c.status === 'fail').map((c) => c.name);

describe('route by route', () => {
  it('a long-poll route slow on both pools neither holds nor fails a canary that drew more of them', () => {
    // 1% of stable's requests are long-polls, 4% of the canary's this time (which pool draws them is chance).
    const stable = { '/api': { requests: 4950, ms: 3 }, '/poll': { requests: 50, ms: 3000 } };
    const canary = { '/api': { requests: 960, ms: 3 }, '/poll': { requests: 40, ms: 3100 } };
    const byRoute = run(pool(canary), pool(stable));
    expect(byRoute.result).toBe('pass');
    expect(byRoute.routes?.map((r) => r.route)).toEqual(['/api', '/poll']);
    // The same traffic judged as one pool: the canary's p99 is a long-poll's, stable's an API call's.
    const pooled = run(pool(canary, false), pool(stable, false));
    expect(pooled.result).not.toBe('pass');
  });

  it('a route slower on the canary than on stable fails, named in the reason', () => {
    const stable = { '/api': { requests: 4000, ms: 3 }, '/search': { requests: 1000, ms: 20 } };
    const canary = { '/api': { requests: 800, ms: 3 }, '/search': { requests: 200, ms: 80 } };
    const v = run(pool(canary), pool(stable));
    expect(v.result).toBe('fail');
    expect(v.reason).toContain('/search');
  });

  it('one endpoint failing completely on the canary fails it, though the pool-wide rate is within limits', () => {
    const stable = { '/api': { requests: 4990, errors: 10, ms: 3 }, '/export': { requests: 10, ms: 5 } };
    const canary = { '/api': { requests: 4990, errors: 10, ms: 3 }, '/export': { requests: 10, errors: 10, ms: 5 } };
    const v = run(pool(canary), pool(stable));
    expect(failing(v)).toContain('route-errors-vs-stable');
    const check = v.checks.find((c) => c.name === 'route-errors-vs-stable');
    expect(check?.route).toBe('/export');
    expect(v.reason).toMatch(/route \/export: canary error rate 100\.00%/);
  });

  it('the same traffic on identical pools passes every route check', () => {
    const same = { '/api': { requests: 4990, errors: 10, ms: 3 }, '/export': { requests: 10, ms: 5 } };
    const v = run(pool(same), pool(same));
    expect(v.result).toBe('pass');
    expect(v.checks.map((c) => c.name)).toContain('route-errors-vs-stable');
  });

  it('4xx count only when the policy judges them, and then against stable', () => {
    const stable = { '/': { requests: 5000, clientErrors: 50, ms: 3 } };
    const canary = { '/': { requests: 5000, clientErrors: 600, ms: 3 } };
    const off = run(pool(canary), pool(stable));
    expect(off.result).toBe('pass');
    expect(off.checks.map((c) => c.name)).not.toContain('client-errors-vs-stable');
    const on = run(pool(canary), pool(stable), { ...base, judge4xx: true });
    expect(failing(on)).toEqual(['client-errors-vs-stable']);
    expect(on.reason).toMatch(/canary 4xx rate 12\.00% is higher than stable's/);
    const shared = run(pool(canary), pool(canary), { ...base, judge4xx: true });
    expect(shared.result).toBe('pass');
  });
});
