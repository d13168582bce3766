// `npm run bench:judge`: the real controller, machine and judge through the simulator
// (dist/simulate.js, the same API users get), per scenario JUDGE_RUNS (default 1,000) seeded
// rollouts with the default policy. Each virtual second each pool serves Poisson(rate × share)
// requests; a scenario says what errors and latencies they have. The targets are the judge's
// contract: healthy canaries rolled back ≤ 0.5% in every healthy scenario, bad ones caught.
import { simulateRollout, simulationPolicy } from '../dist/simulate.js';
import { machineLine, table, writeSection } from './sections.mjs';

const RUNS = Number(process.env.JUDGE_RUNS ?? 1000);
const ONLY = process.env.JUDGE_ONLY ?? '';
const policy = simulationPolicy({});
const STEP_SUM_S = (policy.steps.length * policy.stepInterval) / 1000;

function gauss(rand) {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

function poisson(rand, mean) {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss(rand)));
  const l = Math.exp(-mean);
  let k = 0;
  let p = 1;
  do {
    k++;
    p *= rand();
  } while (p > l && k < 1000);
  return k - 1;
}

/**
 * A scenario's traffic. `pool(ctx, i)` gives request i's error probability and latency parameters:
 * { err, medianMs, sigma }. Instances: requests are spread over `instances` per pool.
 */
function traffic(sc) {
  const { rps, shape } = sc;
  return (ctx) => {
    const n = poisson(ctx.rand, rps * ctx.share);
    const out = new Array(n);
    for (let i = 0; i < n; i++) {
      const r = shape(ctx, ctx.rand);
      const latencyMs = r.latencyMs ?? r.medianMs * Math.exp((r.sigma ?? 0.5) * gauss(ctx.rand));
      const status = ctx.rand() < r.err ? 503 : (r.status ?? 200);
      out[i] = { status, latencyMs, route: r.route ?? '/api', ...(r.client === undefined ? {} : { client: r.client }) };
    }
    return out.concat(sc.extra?.(ctx) ?? []);
  };
}

const base = { err: 0.005, medianMs: 20, sigma: 0.5 };
const same = () => base;
/** Seconds [from, from + len) of each step (steps start every stepInterval when healthy). */
const inEveryStep = (second, offset, len) => {
  const s = second % (policy.stepInterval / 1000);
  return s >= offset && s < offset + len;
};

const SCENARIOS = [
  // Healthy: the canary behaves exactly as stable does.
  { name: 'healthy, 20 req/s', rps: 20, shape: same, kind: 'healthy' },
  { name: 'healthy, 100 req/s', rps: 100, shape: same, kind: 'healthy' },
  { name: 'healthy, 1,000 req/s', rps: 1000, shape: same, kind: 'healthy', runs: Math.min(RUNS, 300) },
  {
    name: 'healthy, per-instance stalls (1 of 4 instances per pool stalls 1 s at 1 s latency, 2%/s)',
    rps: 100,
    kind: 'healthy',
    shape: (() => {
      const stalled = { stable: -1, canary: -1 };
      return (ctx, rand) => {
        if (rand() < 0.02 / 25) stalled[ctx.pool] = ctx.second;
        const instance = Math.floor(rand() * 4);
        return instance === 0 && stalled[ctx.pool] === ctx.second ? { ...base, latencyMs: 1000 } : base;
      };
    })(),
  },
  {
    name: 'healthy, shared incident in every step (both pools 3% errors, 10 s)',
    rps: 100,
    kind: 'healthy',
    shape: (ctx) => (inEveryStep(ctx.second, 12, 10) ? { ...base, err: 0.03 } : base),
  },
  {
    name: 'healthy, both pools drifting 0.1% → 0.8% errors',
    rps: 100,
    kind: 'healthy',
    shape: (ctx) => ({ ...base, err: Math.min(0.008, 0.001 + ctx.second * 0.00005) }),
  },
  {
    name: 'healthy, instance blip (one-instance canary fails every request for 2 s, once)',
    rps: 100,
    kind: 'healthy',
    shape: (() => {
      let at = -1;
      return (ctx, rand) => {
        if (ctx.second === 0) at = 5 + Math.floor(rand() * 120);
        return ctx.pool === 'canary' && ctx.second >= at && ctx.second < at + 2 ? { ...base, err: 1 } : base;
      };
    })(),
  },
  {
    name: 'healthy, 6 s warm-up (canary 3× slower for its first 6 s)',
    rps: 100,
    kind: 'healthy',
    shape: (ctx) => (ctx.pool === 'canary' && ctx.second < 6 ? { ...base, medianMs: 60 } : base),
  },
  {
    name: 'healthy, long-polls (1% of requests on /poll answer after 2-5 s, both pools)',
    rps: 100,
    kind: 'healthy',
    shape: (ctx, rand) => (rand() < 0.01 ? { ...base, route: '/poll', latencyMs: 2000 + 3000 * rand() } : base),
  },
  {
    name: 'healthy, one sticky client failing every request (2 req/s, on the pool its bucket is in)',
    rps: 100,
    kind: 'healthy',
    shape: (_ctx, rand) => ({ ...base, client: Math.floor(rand() * 10000) }),
    extra: (() => {
      let bucket = 0;
      return (ctx) => {
        if (ctx.second === 0 && ctx.pool === 'stable') bucket = Math.floor(ctx.rand() * 10000);
        if ((bucket < ctx.weight * 100 ? 'canary' : 'stable') !== ctx.pool) return [];
        return Array.from({ length: poisson(ctx.rand, 2) }, () => ({ status: 500, latencyMs: 5, client: bucket }));
      };
    })(),
  },
  // Bad: the canary is worse and must be rolled back.
  { name: '5× errors (2.5% vs 0.5%)', rps: 100, kind: 'bad', want: 0.999, shape: bad({ err: 0.025 }) },
  { name: '2× errors (1% vs 0.5%)', rps: 100, kind: 'bad', want: 0.95, shape: bad({ err: 0.01 }) },
  {
    name: 'doubled median, same p99 (2% of requests take 400 ms on both)',
    rps: 100,
    kind: 'bad',
    want: 0.9,
    shape: (ctx, rand) => {
      if (rand() < 0.02) return { ...base, medianMs: 400, sigma: 0.1 };
      return ctx.pool === 'canary' ? { ...base, medianMs: 40 } : base;
    },
  },
  {
    name: 'one endpoint failing completely (/export, 0.2% of requests), 1,000 req/s',
    rps: 1000,
    kind: 'report',
    runs: Math.min(RUNS, 300),
    shape: (ctx, rand) =>
      rand() < 0.002 ? { ...base, route: '/export', err: ctx.pool === 'canary' ? 1 : base.err } : base,
  },
  {
    name: 'one endpoint failing completely (/export, 0.2% of requests), 100 req/s',
    rps: 100,
    kind: 'report',
    shape: (ctx, rand) =>
      rand() < 0.002 ? { ...base, route: '/export', err: ctx.pool === 'canary' ? 1 : base.err } : base,
  },
  { name: '5× errors on a 0.1% base rate (0.5% vs 0.1%)', rps: 100, kind: 'report', shape: lowBase(0.005) },
  { name: '2× errors on a 0.1% base rate (0.2% vs 0.1%)', rps: 100, kind: 'report', shape: lowBase(0.002) },
  {
    name: 'canary answers 404 to 5% of requests (judge4xx: true; stable 1%)',
    rps: 100,
    kind: 'report',
    policy: { judge4xx: true },
    shape: (ctx, rand) => ({ ...base, status: rand() < (ctx.pool === 'canary' ? 0.05 : 0.01) ? 404 : 200 }),
  },
  {
    name: '30% errors at 300 req/s (time to rollback)',
    rps: 300,
    kind: 'fast',
    shape: bad({ err: 0.3 }),
  },
];

function lowBase(canaryErr) {
  return (ctx) => ({ ...base, err: ctx.pool === 'canary' ? canaryErr : 0.001 });
}

function bad(canary) {
  return (ctx) => (ctx.pool === 'canary' ? { ...base, ...canary } : base);
}

const median = (xs) => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const quantile = (xs, q) =>
  xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * q))];
const pct = (n, d) => `${((n / d) * 100).toFixed(1)}%`;

const rows = [];
const started = Date.now();
for (const [i, sc] of SCENARIOS.entries()) {
  if (ONLY && !sc.name.includes(ONLY)) continue;
  const runs = sc.runs ?? RUNS;
  const out = { succeeded: 0, rolledBack: 0, held: 0, seconds: { succeeded: [], rolledBack: [] }, exposure: [] };
  for (let r = 0; r < runs; r++) {
    const res = await simulateRollout({
      ...(sc.policy ? { policy: sc.policy } : {}),
      seed: 1000 * (i + 1) + r,
      maxSeconds: 1800,
      traffic: traffic(sc),
    });
    if (res.outcome === 'succeeded') {
      out.succeeded++;
      out.seconds.succeeded.push(res.seconds);
    } else if (res.outcome === 'rolled-back') {
      out.rolledBack++;
      out.seconds.rolledBack.push(res.seconds);
      out.exposure.push(res.canaryFailed);
    } else {
      out.held++;
      if (process.env.JUDGE_SHOW_HELD) console.log(`  held: seed ${1000 * (i + 1) + r}: ${res.reason}`);
    }
  }
  rows.push({ sc, runs, out });
  console.log(
    `${sc.name}: rolled back ${pct(out.rolledBack, runs)}, promoted ${pct(out.succeeded, runs)}, ` +
      `held ${pct(out.held, runs)}; median s to promotion ${median(out.seconds.succeeded) ?? 'n/a'}, ` +
      `to rollback ${median(out.seconds.rolledBack) ?? 'n/a'}`,
  );
}

const verdictOf = ({ sc, runs, out }) => {
  const back = out.rolledBack / runs;
  if (sc.kind === 'healthy') return { target: '≤ 0.5% rolled back', ok: back <= 0.005 };
  if (sc.kind === 'bad') return { target: `≥ ${sc.want * 100}% rolled back`, ok: back >= sc.want };
  if (sc.kind === 'report') return { target: 'no target (reported)', ok: null };
  const p99 = quantile(out.seconds.rolledBack, 0.99);
  return { target: `out within 10 s (p99: ${p99 ?? 'n/a'} s)`, ok: back >= 0.999 && p99 !== null && p99 <= 10 };
};
const low = rows.find((r) => r.sc.name === 'healthy, 20 req/s');
const lowTarget =
  low === undefined
    ? null
    : {
        promoted: low.out.succeeded / low.runs,
        medianS: median(low.out.seconds.succeeded),
      };
const mark = (ok) => (ok === null ? '' : ok ? 'PASS' : 'MISS');
const body = `## Judge simulation (\`npm run bench:judge\`)

${new Date().toISOString().slice(0, 10)} on ${machineLine()}. Through the simulator API (\`dist/simulate.js\`): the real
controller, machine and judge on a virtual clock. ${RUNS} seeded rollouts per scenario unless noted, default policy
(steps ${policy.steps.join('/')}%, stepInterval ${policy.stepInterval / 1000}s, analysisInterval \
${policy.analysisInterval / 1000}s, minRequests ${policy.minRequests}, confidence ${policy.confidence}, failureLimit \
${policy.failureLimit}); base traffic 0.5% errors, log-normal latency (median 20 ms, sigma 0.5). "held" = paused at
the progress deadline or still running after 30 min.

${table(
  ['scenario', 'runs', 'rolled back', 'promoted', 'held', 'median s to promote', 'median s to roll back', 'target', ''],
  rows.map((r) => {
    const v = verdictOf(r);
    return [
      r.sc.name,
      String(r.runs),
      pct(r.out.rolledBack, r.runs),
      pct(r.out.succeeded, r.runs),
      pct(r.out.held, r.runs),
      String(median(r.out.seconds.succeeded) ?? 'n/a'),
      String(median(r.out.seconds.rolledBack) ?? 'n/a'),
      v.target,
      mark(v.ok),
    ];
  }),
)}
${
  lowTarget === null
    ? ''
    : `
Low traffic (healthy, 20 req/s): promoted ${(lowTarget.promoted * 100).toFixed(1)}% (target ≥ 98%: \
${mark(lowTarget.promoted >= 0.98)}), median ${lowTarget.medianS ?? 'n/a'} s to promotion \
(target ≤ 2 × ${STEP_SUM_S} s: ${mark(lowTarget.medianS !== null && lowTarget.medianS <= 2 * STEP_SUM_S)}).`
}
Took ${((Date.now() - started) / 1000).toFixed(0)} s.
`;
if (!ONLY) writeSection('judge', body);
console.log(body);
