// The figures `veer simulate` prints, from hand-made runs: shares, nearest-rank quantiles, exposure,
// reasons grouped with their numbers masked; and the checks on what a scenario's traffic returns.
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../../src/cli/command.js';
import { wholeNumber } from '../../../src/cli/commands/simulate.js';
import { runCli } from '../../../src/cli/main.js';
import { requestsProblem } from '../../../src/cli/simulation/checked-traffic.js';
import { MAX_REQUESTS_PER_SECOND } from '../../../src/cli/simulation/limits.js';
import { maskNumbers, quantile, summarize, type RunRecord } from '../../../src/cli/simulation/summary.js';

const run = (seed: number, over: Partial<RunRecord>): RunRecord => ({
  seed,
  outcome: 'succeeded',
  seconds: 120,
  steps: 4,
  canaryFailed: 0,
  reason: 'analysis passed; promoting',
  ...over,
});

const failing = (seed: number, rate: string, seconds: number): RunRecord =>
  run(seed, {
    outcome: 'rolled-back',
    seconds,
    steps: 1,
    canaryFailed: seconds,
    reason: `rolled back (2 failed analyses in a row): canary error rate ${rate}% is higher than stable's`,
  });

describe('summarize', () => {
  it('counts each outcome, its share, its decision time and its steps', () => {
    const runs = [
      run(1, { seconds: 121 }),
      run(2, { seconds: 130 }),
      run(3, { seconds: 125 }),
      failing(4, '3.10', 9),
      run(5, { outcome: 'running', seconds: 600, reason: null, steps: 2 }),
    ];
    const s = summarize(runs);
    expect(s.runs).toBe(5);
    expect(s.outcomes.succeeded).toEqual({
      runs: 3,
      share: 0.6,
      seconds: { median: 125, p90: 130, p99: 130, max: 130 },
      steps: 4,
    });
    expect(s.outcomes['rolled-back']).toMatchObject({ runs: 1, share: 0.2, seconds: { median: 9, max: 9 } });
    expect(s.outcomes.paused).toEqual({ runs: 0, share: 0, seconds: null, steps: null });
    expect(s.outcomes.running).toMatchObject({ runs: 1, seconds: { max: 600 }, steps: 2 });
    // Failed canary requests over every run: 0, 0, 0, 0 and 9.
    expect(s.exposure).toEqual({ median: 0, p99: 9, max: 9 });
  });

  it('groups rollback and pause reasons by their words, most frequent first, top 3, first seed as example', () => {
    const pause = (seed: number, n: number) =>
      run(seed, { outcome: 'paused', reason: `progress deadline (600s) passed: canary served ${n} of 50` });
    const runs = [
      failing(10, '3.10', 8),
      pause(11, 3),
      failing(12, '2.95', 9),
      failing(13, '4.00', 7),
      pause(14, 7),
      run(15, { outcome: 'rolled-back', reason: 'canary p99 950ms exceeds maxP99Ms 800' }),
      run(16, { outcome: 'rolled-back', reason: 'aborted by operator' }),
      run(17, {}),
    ];
    const s = summarize(runs);
    expect(s.reasons).toEqual([
      {
        outcome: 'rolled-back',
        reason: "rolled back (N failed analyses in a row): canary error rate N% is higher than stable's",
        count: 3,
        example: {
          seed: 10,
          reason: "rolled back (2 failed analyses in a row): canary error rate 3.10% is higher than stable's",
        },
      },
      {
        outcome: 'paused',
        reason: 'progress deadline (Ns) passed: canary served N of N',
        count: 2,
        example: { seed: 11, reason: 'progress deadline (600s) passed: canary served 3 of 50' },
      },
      expect.objectContaining({ outcome: 'rolled-back', reason: 'canary p99 Nms exceeds maxP99Ms N', count: 1 }),
    ]);
  });

  it('has no reasons and zero exposure without runs that failed', () => {
    const s = summarize([run(1, {}), run(2, { outcome: 'running', reason: null })]);
    expect(s.reasons).toEqual([]);
    expect(s.exposure).toEqual({ median: 0, p99: 0, max: 0 });
  });
});

describe('quantile and maskNumbers', () => {
  it('takes the nearest rank, a value some run had', () => {
    const xs = Array.from({ length: 200 }, (_, i) => i + 1);
    expect([quantile(xs, 0.5), quantile(xs, 0.9), quantile(xs, 0.99), quantile(xs, 1)]).toEqual([100, 180, 198, 200]);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBe(0);
  });

  it('masks integers and decimals alike, but not the digits of a name', () => {
    expect(maskNumbers('rate 1.25% over 0.5% (p=0.0100), 2 in a row')).toBe('rate N% over N% (p=N), N in a row');
    expect(maskNumbers('canary p99 950ms exceeds maxP99Ms 800')).toBe('canary p99 Nms exceeds maxP99Ms N');
  });
});

describe("what a scenario's traffic may return", () => {
  it('accepts requests with optional route, client and instance', () => {
    expect(requestsProblem([])).toBeNull();
    expect(
      requestsProblem([
        { status: 200, latencyMs: 0 },
        { status: 503, latencyMs: 1.5, route: '/a', client: 7, instance: 'i-1' },
      ]),
    ).toBeNull();
  });

  it.each([
    [null, 'expected an array of requests like [{ status: 200, latencyMs: 20 }], got null (an empty value)'],
    [Promise.resolve([]), 'expected an array of requests, got a Promise'],
    [[42], '[0]: expected a request like { status: 200, latencyMs: 20 }, got 42'],
    [[{ status: 99, latencyMs: 1 }], '[0].status: expected an HTTP status (an integer from 100 to 599), got 99'],
    [[{ status: 200.5, latencyMs: 1 }], '[0].status: expected an HTTP status (an integer from 100 to 599), got 200.5'],
    [[{ status: 200, latencyMs: -1 }], '[0].latencyMs: expected a number of milliseconds ≥ 0, got -1'],
    [[{ status: 200, latencyMs: Infinity }], '[0].latencyMs: expected a number of milliseconds ≥ 0, got Infinity'],
    [[{ status: 200, latencyMs: 1, route: 5 }], '[0].route: expected a string such as "/api", got 5'],
    [[{ status: 200, latencyMs: 1, client: {} }], '[0].client: expected a string or a number, got a mapping'],
  ])('refuses %j', (out, message) => {
    expect(requestsProblem(out)).toContain(message);
  });

  it('refuses more requests in one second than its bound', () => {
    const many = new Array(MAX_REQUESTS_PER_SECOND + 1).fill({ status: 200, latencyMs: 1 });
    expect(requestsProblem(many)).toBe(
      `returned ${MAX_REQUESTS_PER_SECOND + 1} requests, more than ${MAX_REQUESTS_PER_SECOND} in one second`,
    );
  });
});

describe('whole-number options', () => {
  it('takes digits within bounds, the fallback when absent, and names the option otherwise', () => {
    expect(wholeNumber('--runs', undefined, 200, 1, 10)).toEqual({ ok: true, value: 200 });
    expect(wholeNumber('--runs', ' 7 ', 200, 1, 10)).toEqual({ ok: true, value: 7 });
    for (const bad of ['0', '11', '1e1', '2.0', '-3', '', 'x'])
      expect(wholeNumber('--runs', bad, 200, 1, 10)).toEqual({
        ok: false,
        error: `--runs: expected a whole number from 1 to 10, got "${bad}"`,
      });
  });
});

describe('--seed with --runs', () => {
  async function simulate(...opts: string[]): Promise<{ code: number; err: string }> {
    const err: string[] = [];
    const io: CliIO = { out: () => undefined, err: (l) => err.push(l), env: {} };
    // No such scenario: the options are checked before it is read, and nothing runs if they pass.
    const code = await runCli(['simulate', '/nonexistent/veer-scenario.mjs', ...opts], io);
    return { code, err: err.join('\n') };
  }

  it('refuses seeds that would wrap past the largest one, naming both options and the largest start', async () => {
    const r = await simulate('--seed', '4294967295', '--runs', '3');
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      'error: --seed 4294967295 with --runs 3 would go past the largest seed, 4294967295: ' +
        'expected a --seed of at most 4294967293 for 3 runs (or fewer --runs)',
    );
    expect((await simulate('--seed', '4294967200')).err).toMatch(/^error: --seed 4294967200 with --runs 200 /);
  });

  it('takes the last seeds that fit: the refusal is then about the scenario, not the seed', async () => {
    for (const opts of [
      ['--seed', '4294967293', '--runs', '3'],
      ['--seed', '4294967295', '--runs', '1'],
    ]) {
      const r = await simulate(...opts);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/veer-scenario\.mjs/);
      expect(r.err).not.toMatch(/--seed/);
    }
  });
});
