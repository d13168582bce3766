// `npm run bench:judge`: the real judge and rollout controller, driven by a seeded simulation (no
// network): per scenario, 1,000 rollouts with default policy. Every simulated second each pool
// gets Poisson(rate × share) requests with Bernoulli errors and log-normal latencies, recorded into
// the real metric windows; the controller analyses every analysisInterval on a simulated clock.
import { RolloutController } from '../dist/rollout/controller.js';
import { rolloutPolicySchema } from '../dist/config/schema.js';
import { MemoryStore } from '../dist/store/memory.js';
import { Records } from '../dist/rollout/records.js';
import { routeFor } from '../dist/domain/route.js';
import { PoolWindow } from '../dist/metrics/window.js';
import { seededRandom } from '../dist/domain/clock.js';
import { silentLogger } from '../dist/domain/log.js';
import { machineLine, table, writeSection } from './sections.mjs';

const RUNS = Number(process.env.JUDGE_RUNS ?? 1000);
const MAX_SIM_MS = 40 * 60_000;
const policy = rolloutPolicySchema.parse({});
const BASE = {
  rps: 100,
  stableErr: 0.005,
  canaryErr: 0.005,
  medianMs: 20,
  sigma: 0.5,
  canaryLatencyX: 1,
  burst: false,
};

const SCENARIOS = [
  { name: 'healthy canary (both 0.5% errors, same latency)', ...BASE, expect: 'promote' },
  { name: 'canary at 2x the stable error rate (1% vs 0.5%)', ...BASE, canaryErr: 0.01, expect: 'rollback' },
  { name: 'canary at 5x the stable error rate (2.5% vs 0.5%)', ...BASE, canaryErr: 0.025, expect: 'rollback' },
  { name: 'canary at +50% latency', ...BASE, canaryLatencyX: 1.5, expect: 'rollback' },
  { name: 'bursty errors on both pools (healthy canary)', ...BASE, burst: true, expect: 'promote' },
  { name: 'trickle traffic (0.5 req/s, healthy canary)', ...BASE, rps: 0.5, expect: 'no-promote' },
];

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

function gauss(rand) {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

async function simulate(sc, rand) {
  let now = Date.UTC(2026, 0, 1);
  const clock = { now: () => now };
  const windows = { stable: new PoolWindow({ seconds: 900 }), canary: new PoolWindow({ seconds: 900 }) };
  const records = new Records({ store: new MemoryStore(), log: silentLogger });
  const service = { name: 'svc', stable: ['s:1'], canary: [], weightBp: 0, configHash: 'sim', docker: null };
  // The route the data plane would apply: the same projection every replica computes.
  const routeOf = () =>
    routeFor({ service, manual: null, rollout: records.rollout('svc')?.value ?? null, members: null });
  let canaryServed = 0;
  const c = new RolloutController({
    clock,
    log: silentLogger,
    records,
    services: ['svc'],
    metrics: { totals: async (_s, pool, from, to) => windows[pool].totals(from, to) },
    emit: () => undefined,
    policyOf: () => policy,
    configHash: () => 'sim',
    routeOf,
    acks: { waitClear: async () => ({ clear: true }) },
    newId: () => 'sim',
    timers: false,
  });
  await c.restore();
  await c.start('svc', { canary: { targets: ['c:1'] }, rollout: {} }, policy);
  let burstLeft = 0;
  for (let t = 0; t < MAX_SIM_MS; t += 1000) {
    if (sc.burst && burstLeft === 0 && rand() < 0.01) burstLeft = 5;
    const extraErr = burstLeft > 0 ? 0.2 : 0;
    if (burstLeft > 0) burstLeft--;
    const share = routeOf().weightBp / 10_000;
    for (const pool of ['stable', 'canary']) {
      const n = poisson(rand, sc.rps * (pool === 'canary' ? share : 1 - share));
      const errRate = (pool === 'canary' ? sc.canaryErr : sc.stableErr) + extraErr;
      const x = pool === 'canary' ? sc.canaryLatencyX : 1;
      for (let i = 0; i < n; i++) {
        const at = now + Math.floor(rand() * 1000);
        const latency = sc.medianMs * x * Math.exp(sc.sigma * gauss(rand));
        windows[pool].record(at, rand() < errRate ? 503 : 200, latency);
      }
      if (pool === 'canary') canaryServed += n;
    }
    now += 1000;
    if ((t / 1000) % (policy.analysisInterval / 1000) === 0) await c.analyze('svc');
    const phase = c.status('svc')?.phase;
    if (
      phase === 'succeeded' ||
      phase === 'rolling-back' ||
      phase === 'rolled-back' ||
      phase === 'paused' ||
      phase === 'promoting'
    ) {
      await c.stop();
      return { phase, canaryServed, seconds: t / 1000 };
    }
  }
  await c.stop();
  return { phase: 'timeout', canaryServed, seconds: MAX_SIM_MS / 1000 };
}

const median = (xs) => (xs.length === 0 ? null : [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]);
const pct = (n) => `${((n / RUNS) * 100).toFixed(1)}%`;

const rows = [];
const started = Date.now();
for (const [i, sc] of SCENARIOS.entries()) {
  const rand = seededRandom(1000 + i);
  const out = { promoted: 0, rolledBack: 0, held: 0, served: [] };
  for (let r = 0; r < RUNS; r++) {
    const res = await simulate(sc, rand);
    if (res.phase === 'succeeded' || res.phase === 'promoting') out.promoted++;
    else if (res.phase === 'rolled-back' || res.phase === 'rolling-back') {
      out.rolledBack++;
      out.served.push(res.canaryServed);
    } else out.held++;
  }
  rows.push({ sc, out });
  console.log(
    `${sc.name}: rolled back ${pct(out.rolledBack)}, promoted ${pct(out.promoted)}, held ${pct(out.held)}, ` +
      `median canary requests before rollback ${median(out.served) ?? 'n/a'}`,
  );
}

const verdicts = {
  healthy: rows[0].out.rolledBack / RUNS <= 0.01,
  x5: rows[2].out.rolledBack / RUNS >= 0.99,
  x2: rows[1].out.rolledBack / RUNS >= 0.9,
  trickle: rows[5].out.promoted === 0,
};
const mark = (ok) => (ok ? 'PASS' : 'MISS');
const body = `## Judge simulation (\`npm run bench:judge\`)

${new Date().toISOString().slice(0, 10)} on ${machineLine()}. ${RUNS} seeded rollouts per scenario, default policy
(steps ${policy.steps.join('/')}%, stepInterval ${policy.stepInterval / 1000}s, \
analysisInterval ${policy.analysisInterval / 1000}s,
minRequests ${policy.minRequests}, confidence ${policy.confidence}, \
failureLimit ${policy.failureLimit}), ${BASE.rps} req/s unless
noted, log-normal latency (median ${BASE.medianMs} ms, sigma ${BASE.sigma}), \
bursts = 5 s at +20% errors on both pools with 1%
chance per second. "held" = paused at the progress deadline (or still running after ${MAX_SIM_MS / 60000} min).

${table(
  ['scenario', 'rolled back', 'promoted', 'held', 'median canary requests before rollback'],
  rows.map(({ sc, out }) => [
    sc.name,
    pct(out.rolledBack),
    pct(out.promoted),
    pct(out.held),
    String(median(out.served) ?? 'n/a'),
  ]),
)}

Targets: healthy rolled back ≤ 1%: ${mark(verdicts.healthy)}; 5x caught ≥ 99%: ${mark(verdicts.x5)}; \
2x caught ≥ 90%: ${mark(verdicts.x2)};
no promotion on trickle: ${mark(verdicts.trickle)}. Took ${((Date.now() - started) / 1000).toFixed(0)} s.
`;
writeSection('judge', body);
console.log(body);
