// `veer rollout --wait` prints the low-traffic warning: a real veer (memory store) in front of real
// upstreams, a trickle of real traffic, and the CLI as a child process. At its first analysis the
// rollout sees that a few req/s cannot give its first step its canary requests before the progress
// deadline, says so with what would work, and (onDeadline: rollback) rolls back at the deadline.
import { describe, expect, it } from 'vitest';
import { runVeer } from '../helpers/cli.js';
import { startTraffic } from '../helpers/traffic.js';
import { service, useHarness } from '../helpers/veer.js';

const h = useHarness();

const RPS = 5;
// Steps 10/50/100: two judged steps, so each needs 100 of the 200 canary requests; step 1 gets 10% of
// 5 req/s, 0.5 req/s: 200 s, far past the 4 s deadline. maxLatencyRatio 5: loopback latencies are
// ~1 ms, where 1.5× is CPU noise (see rollout/canary.test.ts).
const POLICY = {
  steps: [10, 50, 100],
  stepInterval: '1s',
  analysisInterval: '500ms',
  minRequests: 200,
  progressDeadline: '4s',
  onDeadline: 'rollback',
  drainTimeout: '1s',
  maxLatencyRatio: 5,
};

/** Whether a figure lies between f(rate - 0.05) and f(rate + 0.05). */
const between =
  (rate: number, f: (rate: number) => number) =>
  (n: number): boolean => {
    const [a, b] = [f(rate - 0.05), f(rate + 0.05)];
    return n >= Math.min(a, b) && n <= Math.max(a, b);
  };

describe('veer rollout --wait on low traffic', () => {
  it('prints the warning naming the step and what would work, then the rollback at the deadline', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    // Traffic before the rollout starts, so its first analysis measures a rate.
    const t = startTraffic({ url: v.url, rps: RPS, maxMs: 25_000 });
    h.defer(() => t.stop().catch(() => undefined));

    const r = await runVeer(['rollout', 'web', '--targets', canary.address, '--wait', '--timeout', '20s'], {
      env: { VEER_ADMIN_URL: v.adminUrl },
    });

    expect(r.code, r.stderr).toBe(1);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toHaveLength(1);
    const m = new RegExp(
      String.raw`^warning: at about (\d+\.\d) req/s, step 1 \(10%\) needs about (\d+) s to serve its canary ` +
        String.raw`requests \(minRequests 200\), longer than progressDeadline \(4s\): the rollout will roll back ` +
        String.raw`there\. Steps that would work start at (\d+)% or more, or set minRequests to (\d+) or less$`,
    ).exec(warnings[0] ?? '');
    expect(m, warnings[0]).not.toBeNull();
    const [rate, seconds, firstWeight, fewer] = (m ?? []).slice(1).map(Number) as [number, number, number, number];
    // The rate is measured from the trickle (a first analysis sees part of a second: bounds, not equality).
    expect(rate).toBeGreaterThan(1);
    expect(rate).toBeLessThan(3 * RPS);
    // 100 requests at 10% of the rate; and what would serve them, or fewer, within 4 s. The rate is
    // printed to one decimal, so each figure lies between its values at rate ± 0.05.
    expect(seconds).toSatisfy(between(rate, (x) => Math.ceil(100 / (x * 0.1))));
    expect(firstWeight).toSatisfy(between(rate, (x) => Math.min(100, Math.ceil((100 * 100) / (x * 4)))));
    expect(fewer).toSatisfy(between(rate, (x) => Math.floor((x * 10 * 4 * 2) / 100)));
    expect(r.stderr).toMatch(/^rollout \S+ rolled-back: progress deadline \(4s\) passed without a decision/m);
    expect(r.stdout).toMatch(/^web: rollout \S+ progressing \(canary, weight 10%\)$/m);
  });
});
