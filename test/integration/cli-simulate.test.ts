// `veer simulate` as users run it: the built CLI (dist/cli.js, `npm run build` first) as a child
// process on scenario modules written to a temp dir and on the shipped examples. The simulations are
// real (the controller, machine and judge on a virtual clock) and small (a few dozen runs).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runVeer, type CliRun } from '../helpers/cli.js';

let tmp: string;

const veer = (args: string[]): Promise<CliRun> => runVeer(args, { entry: 'dist' });

/** Each pool gets its share of `rps` every second; a request fails with the pool's error rate. */
const trafficSource = (rps: number, canaryErr: number, stableErr = 0.005) => `
export function traffic({ pool, share, rand }) {
  const n = Math.floor(${rps} * share + rand());
  const err = pool === 'canary' ? ${canaryErr} : ${stableErr};
  return Array.from({ length: n }, () => ({ status: rand() < err ? 503 : 200, latencyMs: 15 + 10 * rand() }));
}
`;

async function file(name: string, text: string): Promise<string> {
  const path = join(tmp, name);
  await writeFile(path, text);
  return path;
}

interface Figures {
  scenario: string;
  runs: number;
  seeds: { first: number; last: number };
  maxSeconds: number;
  outcomes: Record<string, { runs: number; share: number; seconds: Record<string, number> | null; steps: number }>;
  exposure: { median: number; p99: number; max: number };
  reasons: Array<{ outcome: string; reason: string; count: number; example: { seed: number; reason: string } }>;
  policy: Record<string, unknown>;
}

async function json(args: string[]): Promise<Figures> {
  const r = await veer([...args, '--json']);
  expect(r.stderr).toBe('');
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as Figures;
}

/** The OUTCOME table row of `outcome`: its runs and share. */
function row(stdout: string, outcome: string): { runs: number; share: string } {
  const m = new RegExp(`^${outcome}\\s+(\\d+)\\s+(\\d+\\.\\d%)`, 'm').exec(stdout);
  if (m === null) throw new Error(`no row for ${outcome} in:\n${stdout}`);
  return { runs: Number(m[1]), share: m[2] as string };
}

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'veer-simulate-'));
});

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('veer simulate', () => {
  it('rolls back a canary failing 50% of requests in every run, and says why', async () => {
    const bad = await file('bad.mjs', trafficSource(100, 0.5));
    const r = await veer(['simulate', bad, '--runs', '20']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${bad}: 20 rollouts (seeds 1-20), at most 3600 virtual seconds each`);
    expect(row(r.stdout, 'rolled-back')).toEqual({ runs: 20, share: '100.0%' });
    expect(row(r.stdout, 'succeeded')).toEqual({ runs: 0, share: '0.0%' });
    // Reasons with other checks failing alongside count apart; the commonest comes first.
    expect(r.stdout).toMatch(
      /reasons to roll back or pause \(numbers shown as N\):\n {2}\d+ {2}rolled-back: rolled back \(N failed/,
    );
    expect(r.stdout).toMatch(/^ {6}e\.g\. seed 1: rolled back \(2 failed analyses in a row\): /m);
    expect(r.stdout).toMatch(/^exposure \(failed canary requests before the outcome\): median \d+, p99 \d+, max \d+$/m);
    expect(r.stdout).toContain('  steps: [5, 10, 25, 50, 100]\n  stepInterval: 30s\n');
    // Mappings in the policy block are shown as YAML takes them back, not as [object Object].
    expect(r.stdout).toContain('\n  gates: {}\n');
    expect(r.stdout).not.toContain('[object Object]');
  });

  it('promotes a healthy canary at ~200 req/s in nearly every run; --json has the same figures', async () => {
    const healthy = await file('healthy.mjs', trafficSource(200, 0.005));
    const args = ['simulate', healthy, '--runs', '20', '--seed', '7'];
    const [text, f] = await Promise.all([veer(args), json(args)]);
    expect(text.code).toBe(0);
    expect(f).toMatchObject({ scenario: healthy, runs: 20, seeds: { first: 7, last: 26 }, maxSeconds: 3600 });
    expect(f.outcomes.succeeded?.runs).toBeGreaterThanOrEqual(18);
    expect(f.outcomes['rolled-back']?.runs).toBeLessThanOrEqual(1);
    const runs = Object.values(f.outcomes).reduce((n, o) => n + o.runs, 0);
    expect(runs).toBe(20);
    // Four steps below 100% of at least 30 s each.
    const s = f.outcomes.succeeded?.seconds;
    expect(s?.median).toBeGreaterThanOrEqual(120);
    const spread = [s?.median, s?.p90, s?.p99, s?.max] as number[];
    expect(spread).toEqual([...spread].sort((a, b) => a - b));
    expect(f.outcomes.succeeded?.steps).toBe(4);
    expect(f.exposure.median).toBeLessThanOrEqual(f.exposure.max);
    expect(f.policy).toMatchObject({ steps: [5, 10, 25, 50, 100], stepInterval: '30s', minRequests: 200 });
    // The text report shows what the JSON says.
    const share = ((f.outcomes.succeeded?.runs ?? 0) / 20) * 100;
    expect(row(text.stdout, 'succeeded')).toEqual({ runs: f.outcomes.succeeded?.runs, share: `${share.toFixed(1)}%` });
  });

  it('applies --policy (YAML or JSON) over the module policy, key by key', async () => {
    const scenario = await file(
      'with-policy.mjs',
      `export const policy = { steps: [20, 40, 100], minRequests: 100 };\n${trafficSource(200, 0.005)}`,
    );
    const yaml = await file('fast.yaml', '# two steps\nsteps: [50, 100]\n');
    const [own, fast] = await Promise.all([
      json(['simulate', scenario, '--runs', '10']),
      json(['simulate', scenario, '--runs', '10', '--policy', yaml]),
    ]);
    expect(own.policy).toMatchObject({ steps: [20, 40, 100], minRequests: 100 });
    expect(fast.policy).toMatchObject({ steps: [50, 100], minRequests: 100, stepInterval: '30s' });
    expect(own.outcomes.succeeded?.steps).toBe(2);
    expect(fast.outcomes.succeeded?.steps).toBe(1);
    expect(fast.outcomes.succeeded?.seconds?.median).toBeLessThan(own.outcomes.succeeded?.seconds?.median ?? 0);
    const jsonFile = await file('slow.json', '{ "stepInterval": "1m", "steps": [50, 100] }');
    const text = await veer(['simulate', scenario, '--runs', '5', '--policy', jsonFile]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('  steps: [50, 100]\n  stepInterval: 1m\n');
    expect(text.stdout).toMatch(/^succeeded\s+5\s+100\.0%\s+(\d+)/m);
  });

  it('reports runs still undecided at maxSeconds as running, and deadline pauses with their reason', async () => {
    const slow = await file('slow.mjs', `export const maxSeconds = 20;\n${trafficSource(200, 0.005)}`);
    const running = await json(['simulate', slow, '--runs', '5']);
    expect(running.maxSeconds).toBe(20);
    expect(running.outcomes.running).toMatchObject({ runs: 5, share: 1, seconds: { median: 20, max: 20 } });
    expect(running.reasons).toEqual([]);
    const trickle = await file('trickle.mjs', trafficSource(2, 0.005));
    const deadline = await file('deadline.yaml', 'progressDeadline: 20s\n');
    const paused = await json(['simulate', trickle, '--runs', '5', '--policy', deadline, '--max-seconds', '300']);
    expect(paused.outcomes.paused?.runs).toBe(5);
    expect(paused.reasons[0]).toMatchObject({ outcome: 'paused', count: 5 });
    expect(paused.reasons[0]?.reason).toMatch(/^progress deadline \(Ns\) passed without a decision/);
    expect(paused.reasons[0]?.example.reason).toMatch(/^progress deadline \(20s\) passed/);
  });

  it('runs the shipped examples', async () => {
    const [healthy, bad] = await Promise.all([
      json(['simulate', 'examples/simulate/healthy.mjs', '--runs', '6']),
      json(['simulate', 'examples/simulate/errors-2x.mjs', '--runs', '6']),
    ]);
    expect(healthy.outcomes.succeeded?.runs).toBeGreaterThanOrEqual(5);
    expect(bad.maxSeconds).toBe(1800);
    expect(bad.outcomes['rolled-back']?.runs).toBeGreaterThanOrEqual(4);
  });

  it('runs a TypeScript scenario under a loader (node --import tsx), as before the simulation thread', async () => {
    const typed = await file('typed.ts', `const rps: number = 100;\n${trafficSource(100, 0.005)}`);
    const r = await runVeer(['simulate', typed, '--runs', '1', '--json'], { entry: 'src' });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { runs: number }).runs).toBe(1);
  });
});

const ok = trafficSource(50, 0.005);
// A string is a part of the line (toMatch's substring check); a RegExp, its shape.
const BAD_INPUTS: Array<[string, () => Promise<string[]>, RegExp | string]> = [
  ['a missing scenario file', async () => [join(tmp, 'nope.mjs')], /: no such file$/],
  ['a directory', async () => [tmp], /: not a file \(expected a scenario module such as scenario\.mjs\)$/],
  [
    'a module without traffic',
    async () => [await file('none.mjs', 'export const policy = {};\n')],
    /none\.mjs: expected the module to export a function "traffic", got nothing$/,
  ],
  [
    'a traffic that is not a function',
    async () => [await file('five.mjs', 'export const traffic = 5;\n')],
    /five\.mjs: expected the module to export a function "traffic", got 5$/,
  ],
  [
    'a module that does not load',
    async () => [await file('syntax.mjs', 'export function traffic( {\n')],
    /syntax\.mjs: cannot load the module: /,
  ],
  [
    'a traffic that throws at second 3',
    async () => [
      await file(
        'boom.mjs',
        'export function traffic({ second, pool }) {\n' +
          "  if (second === 3 && pool === 'canary') throw new Error('boom\\nmore');\n" +
          '  return [{ status: 200, latencyMs: 5 }];\n}\n',
      ),
    ],
    /boom\.mjs: traffic at second 3, pool canary threw: boom$/,
  ],
  [
    'a traffic that returns no array',
    async () => [await file('object.mjs', 'export function traffic() { return { status: 200 }; }\n')],
    'object.mjs: traffic at second 0, pool stable: ' +
      'expected an array of requests like [{ status: 200, latencyMs: 20 }], got a mapping',
  ],
  [
    'an async traffic',
    async () => [await file('async.mjs', 'export async function traffic() { return []; }\n')],
    /async\.mjs: traffic at second 0, pool stable: expected an array of requests, got a Promise/,
  ],
  [
    'a request with a bad status',
    async () => [
      await file(
        'status.mjs',
        "export function traffic({ second, pool }) {\n  return second === 4 && pool === 'canary' " +
          "? [{ status: 200, latencyMs: 1 }, { status: '200', latencyMs: 1 }] : [];\n}\n",
      ),
    ],
    'status.mjs: traffic at second 4, pool canary: ' +
      '[1].status: expected an HTTP status (an integer from 100 to 599), got "200"',
  ],
  [
    'a request without a latency',
    async () => [await file('latency.mjs', 'export function traffic() { return [{ status: 200 }]; }\n')],
    'latency.mjs: traffic at second 0, pool stable: [0].latencyMs: expected a number of milliseconds ≥ 0, got nothing',
  ],
  [
    'an invalid module policy',
    async () => [await file('policy.mjs', `export const policy = { minRequests: 0 };\n${ok}`)],
    /policy\.mjs: export "policy": minRequests: must be ≥ 1$/,
  ],
  [
    'a module maxSeconds that is not a count',
    async () => [await file('max.mjs', `export const maxSeconds = '1h';\n${ok}`)],
    /max\.mjs: export "maxSeconds": expected an integer from 1 to 86400, got "1h"$/,
  ],
  [
    'an unknown policy key',
    async () => [await file('s1.mjs', ok), '--policy', await file('typo.yaml', 'stepz: [10, 100]\n')],
    /--policy .*typo\.yaml: stepz: unknown key \(expected one of: strategy, steps, stepInterval, /,
  ],
  [
    'a policy value out of range',
    async () => [await file('s2.mjs', ok), '--policy', await file('down.yaml', 'steps: [50, 10]\n')],
    /--policy .*down\.yaml: steps\[1\]: must be greater than the previous step \(50\)$/,
  ],
  [
    'a policy duration that is not one',
    async () => [await file('s3.mjs', ok), '--policy', await file('soon.json', '{"stepInterval": "soon"}')],
    /--policy .*soon\.json: stepInterval: expected a duration like "500ms", "30s", "2m", got "soon"$/,
  ],
  [
    'a policy file that is not YAML',
    async () => [await file('s4.mjs', ok), '--policy', await file('broken.yaml', 'steps: [50, 100\n')],
    /--policy .*broken\.yaml: not valid YAML or JSON: /,
  ],
  [
    'a missing policy file',
    async () => [await file('s5.mjs', ok), '--policy', join(tmp, 'none.yaml')],
    /--policy .*none\.yaml: no such file$/,
  ],
  [
    'a policy file that is a YAML list',
    async () => [await file('s5b.mjs', ok), '--policy', await file('list.yaml', '- 10\n- 100\n')],
    /--policy .*list\.yaml: expected a mapping of rollout keys \(steps: \[10, 50, 100\], …\), got a list$/,
  ],
  [
    'a top-level await that never settles',
    async () => [await file('tla.mjs', `await new Promise(() => {});\n${ok}`)],
    /tla\.mjs: the simulation ended before it finished \(exit code 0\): the scenario called process\.exit\(\), or /,
  ],
  [
    'a traffic that calls process.exit(0)',
    async () => [await file('exit.mjs', 'export function traffic() { process.exit(0); }\n')],
    /exit\.mjs: the simulation ended before it finished \(exit code 0\): the scenario called process\.exit\(\)/,
  ],
  [
    'a traffic that never returns',
    async () => [await file('loop.mjs', 'export function traffic() { for (;;) {} }\n'), '--max-seconds', '10'],
    /loop\.mjs: the scenario's code did not return within 10s of real time in traffic at second 0, pool stable /,
  ],
  [
    'a module that keeps itself alive and never finishes loading',
    async () => [await file('alive.mjs', `setInterval(() => {}, 1000);\nawait new Promise(() => {});\n${ok}`)],
    /alive\.mjs: the scenario's code did not return within 10s of real time while loading it /,
  ],
  [
    '--runs that is no number',
    async () => [await file('s6.mjs', ok), '--runs', 'ten'],
    /^error: --runs: expected a whole number from 1 to 10000, got "ten"$/,
  ],
  [
    '--runs 0',
    async () => [await file('s7.mjs', ok), '--runs', '0'],
    /--runs: expected a whole number from 1 to 10000, got "0"$/,
  ],
  ['--runs over its bound', async () => [await file('s8.mjs', ok), '--runs', '100000'], /--runs: .* got "100000"$/],
  ['--seed -1', async () => [await file('s9.mjs', ok), '--seed', '-1'], /--seed: expected a whole number from 0 to /],
  [
    '--max-seconds 1.5',
    async () => [await file('sa.mjs', ok), '--max-seconds', '1.5'],
    /--max-seconds: expected a whole number from 1 to 86400, got "1\.5"$/,
  ],
];

describe('veer simulate refuses bad input with one line and exit 2', () => {
  // Concurrent: each case is mostly a process starting, and they share nothing but the temp dir.
  it.concurrent.for(BAD_INPUTS)('%s', async ([, args, message], { expect }) => {
    const r = await veer(['simulate', ...(await args())]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(message);
  });

  it('a missing scenario argument is a usage error (64)', async () => {
    const r = await veer(['simulate']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('"veer simulate" needs 1 argument(s), got 0');
  });
});
