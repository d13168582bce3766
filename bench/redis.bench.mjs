#!/usr/bin/env node
// `npm run bench:redis`: what sharing state through Redis costs the data plane, and how fresh the
// merged metrics are. In one run, under the same load (wrk, pinned as in proxy.bench.mjs: veer
// under test on CPU 1; load generator, upstreams, redis-server and the extra replicas on CPU 0):
//   - veer with `state: { store: memory }`, and
//   - veer with `state: { store: redis }` while two more veer replicas (light paced traffic) flush
//     their metrics to the same Redis too, i.e. three replicas' worth of flushing,
// both up for the whole run and measured in alternating passes (the order flips every round, so slow
// drift and warm-up effects hit both alike); then the merged-metrics lag: bursts spread over the three
// replicas, timed from the burst's last response until MergedMetricsSource (what the leader's judge
// reads) counts every request of it. Writes the `redis` section of bench/RESULTS.md.
// Env: BENCH_DURATION (s, 10), BENCH_CONNECTIONS (64), BENCH_WARMUP (s, 2), BENCH_ROUNDS (5),
//      BENCH_LAG_BURSTS (5), BENCH_RETRIES (0–5, default 0: repeat a pass disturbed by other
//      processes, keep the least disturbed), BENCH_VEER_DIST (compiled veer, default dist/).
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { Pool } from 'undici';
import { DISTURBED_CORES, otherCores, snapshotOthers } from './cpu.mjs';
import { HOST, freePort, pollUntil } from './net.mjs';
import {
  installExitHandlers,
  killAllNow,
  onCleanup,
  sleep,
  startChild,
  stopChild,
  tail,
  tasksetPath,
  waitForJsonLine,
  wasInterrupted,
} from './procs.mjs';
import { startRedis } from './redis-server.mjs';
import { machineLine, table, writeSection } from './sections.mjs';
import { startUpstream } from './targets.mjs';
import { findNginx } from './nginx.mjs';
import { veerConfig } from './veer.mjs';
import { findWrk, runWrk } from './wrk.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(here, '..');
const PREFIX = 'bench';
const LIGHT_RPS = 50;
const BURST_PER_REPLICA = 200;

function settings(env) {
  const num = (name, def) => {
    const v = env[name] === undefined || env[name] === '' ? def : Number(env[name]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got "${env[name]}"`);
    return v;
  };
  const pin = Boolean(tasksetPath) && os.cpus().length >= 2;
  return {
    durationS: Math.max(1, num('BENCH_DURATION', 10)),
    connections: Math.max(1, Math.round(num('BENCH_CONNECTIONS', 64))),
    warmupS: num('BENCH_WARMUP', 2),
    bursts: Math.max(1, Math.round(num('BENCH_LAG_BURSTS', 5))),
    retries: Math.min(5, Math.round(num('BENCH_RETRIES', 0))),
    rounds: Math.max(1, Math.round(num('BENCH_ROUNDS', 5))),
    dist: path.resolve(ROOT, env.BENCH_VEER_DIST || 'dist'),
    pin,
    loadCpu: pin ? 0 : undefined,
    proxyCpu: pin ? 1 : undefined,
  };
}

/** One veer process from the compiled CLI, with proxy.bench's service and the given state line. */
async function startVeer(s, name, { state, cpu, upstreams }) {
  const cli = path.join(s.dist, 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} not found: run \`npm run build\` first (or set BENCH_VEER_DIST)`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veer-bench-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const port = await freePort();
  const adminPort = await freePort();
  const base = veerConfig({ port, adminPort, upstreamA: upstreams.a.port, upstreamB: upstreams.b.port });
  const config = base.replace('state: { store: memory }', state);
  if (state !== 'state: { store: memory }' && config === base)
    throw new Error('veerConfig() changed: cannot set the state store');
  writeFileSync(path.join(dir, 'veer.yaml'), config);
  // Its access log goes to a file, as in bench/veer.mjs: read here, every line would cost this process's CPU.
  const stdoutFd = openSync(path.join(dir, 'stdout.log'), 'a');
  let child;
  try {
    child = startChild(name, process.execPath, [cli, 'start', '-c', path.join(dir, 'veer.yaml')], {
      cpu,
      cwd: dir,
      stdoutFd,
    });
  } finally {
    closeSync(stdoutFd);
  }
  const alive = () => !child.exited;
  const ready = await pollUntil(adminPort, '/readyz', (st) => st === 200, { attempts: 150, intervalMs: 100, alive });
  if (!ready.ok) {
    await stopChild(child);
    throw new Error(`${name} did not become ready (${ready.reason})\n${tail(child)}`);
  }
  return { name, port, adminPort, child, stop: () => stopChild(child, 15_000) };
}

/** wrk (autocannon in a worker without it) on the load CPU; the result JSON plus how busy other processes were. */
async function runLoad(s, port) {
  const opts = {
    url: `http://${HOST}:${port}/`,
    connections: s.connections,
    durationS: s.durationS,
    warmupS: s.warmupS,
  };
  const before = snapshotOthers();
  const t0 = Date.now();
  if (s.wrk) {
    const r = await runWrk(s.wrk, { ...opts, cpu: s.loadCpu });
    return {
      ...r,
      otherCores: otherCores(before, snapshotOthers(), (Date.now() - t0) / 1000),
      startedAt: t0,
      endedAt: Date.now(),
    };
  }
  const child = startChild('load', process.execPath, [path.join(here, 'load.mjs'), JSON.stringify(opts)], {
    cpu: s.loadCpu,
  });
  try {
    const r = await waitForJsonLine(child, (v) => v.result === true, (s.warmupS + s.durationS + 60) * 1000);
    return {
      ...r,
      otherCores: otherCores(before, snapshotOthers(), (Date.now() - t0) / 1000),
      startedAt: t0,
      endedAt: Date.now(),
    };
  } finally {
    await stopChild(child, 5_000);
  }
}

/** On a shared machine another job can steal veer's core mid-run: retry (bounded), keep the least disturbed. */
async function leastDisturbed(s, port) {
  let best = null;
  for (let attempt = 1; attempt <= 1 + s.retries; attempt++) {
    const r = { ...(await runLoad(s, port)), attempts: attempt };
    if (!best || (r.otherCores ?? 0) < (best.otherCores ?? 0)) best = r;
    if ((r.otherCores ?? 0) < DISTURBED_CORES || wasInterrupted()) break;
    if (attempt <= s.retries)
      console.log(`    other processes used ${r.otherCores.toFixed(2)} cores: retrying (${attempt}/${s.retries})`);
  }
  return best;
}

/** Paced GETs to each port (open loop, in-flight capped); stop() resolves with the counts. */
function lightTraffic(ports, rps) {
  const pools = ports.map((p) => new Pool(`http://${HOST}:${p}`, { connections: 4, pipelining: 1 }));
  const counts = { sent: 0, failed: 0 };
  let inFlight = 0;
  const started = Date.now();
  const pending = new Set();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * rps * pools.length) / 1000);
    while (counts.sent < due && inFlight < 64) {
      const pool = pools[counts.sent++ % pools.length];
      inFlight++;
      const p = pool
        .request({ path: '/', method: 'GET' })
        .then(
          async (r) => {
            await r.body.dump();
            if (r.statusCode >= 500) counts.failed++;
          },
          () => void counts.failed++,
        )
        .finally(() => {
          inFlight--;
          pending.delete(p);
        });
      pending.add(p);
    }
  }, 10);
  return async () => {
    clearInterval(timer);
    await Promise.allSettled([...pending]);
    await Promise.allSettled(pools.map((p) => p.close()));
    return counts;
  };
}

/** `n` concurrent GETs to each port; resolves when every response is in. */
async function burst(ports, n) {
  const pools = ports.map((p) => new Pool(`http://${HOST}:${p}`, { connections: 16, pipelining: 1 }));
  let failed = 0;
  const startedAt = Date.now();
  const one = async (pool) => {
    try {
      const r = await pool.request({ path: '/', method: 'GET', headersTimeout: 10_000, bodyTimeout: 10_000 });
      await r.body.dump();
      if (r.statusCode >= 500) failed++;
    } catch {
      failed++;
    }
  };
  await Promise.all(pools.flatMap((pool) => Array.from({ length: n }, () => one(pool))));
  const endedAt = Date.now();
  await Promise.allSettled(pools.map((p) => p.close()));
  return { startedAt, endedAt, failed, sent: n * ports.length };
}

/** Every burst: ms from its last response until the merged totals count all of it (null: not within 10 s). */
async function mergedLag(s, source, ports) {
  const merged = async (from) => {
    const to = Date.now();
    const [st, ca] = await Promise.all([
      source.totals('bench', 'stable', from, to),
      source.totals('bench', 'canary', from, to),
    ]);
    return st.requests + ca.requests;
  };
  const out = [];
  for (let i = 0; i < s.bursts && !wasInterrupted(); i++) {
    // Different offsets put the bursts at different points of the flusher's one-second cycle.
    await sleep(1_500 + 173 * i);
    const from = Math.floor(Date.now() / 1000) * 1000 - 1000;
    const baseline = await merged(from);
    const b = await burst(ports, BURST_PER_REPLICA);
    let lagMs = null;
    for (let j = 0; j < 1_000 && Date.now() - b.endedAt < 10_000; j++) {
      if ((await merged(from)) - baseline >= b.sent) {
        lagMs = Date.now() - b.endedAt;
        break;
      }
      await sleep(10);
    }
    console.log(
      `  burst ${i + 1}: ${b.sent} requests in ${b.endedAt - b.startedAt} ms (${b.failed} failed); ` +
        `merged after ${lagMs ?? '> 10000'} ms`,
    );
    out.push({ ...b, lagMs });
  }
  return out;
}

/** Load passes alternating memory/redis (the order flips every round, so drift hits both alike). */
async function passes(s, targets) {
  const results = { memory: [], redis: [] };
  for (let round = 0; round < s.rounds && !wasInterrupted(); round++) {
    const order = round % 2 === 0 ? ['memory', 'redis'] : ['redis', 'memory'];
    for (const name of order) {
      console.log(`  round ${round + 1}, veer (${name}): ${s.warmupS}s warm-up + ${s.durationS}s …`);
      const r = await leastDisturbed(s, targets[name].port);
      console.log(
        `    ${Math.round(r.reqPerSecMean)} req/s, p99 ${r.p99?.toFixed(2)} ms, ` +
          `other procs ${r.otherCores?.toFixed(2) ?? 'n/a'} cores`,
      );
      results[name].push(r);
    }
  }
  return results;
}

/**
 * Everything up at once: the two measured veers on the proxy CPU, two more replicas and their traffic on
 * the load CPU.
 */
async function run(s, upstreams, redisUrl) {
  const state = `state: { store: redis, redis: "${redisUrl}", prefix: ${PREFIX} }`;
  const started = [];
  let stopLight = null;
  const client = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: true });
  try {
    for (const name of ['replica 2', 'replica 3'])
      started.push(await startVeer(s, `veer (${name})`, { state, cpu: s.loadCpu, upstreams }));
    const redis = await startVeer(s, 'veer (redis)', { state, cpu: s.proxyCpu, upstreams });
    started.push(redis);
    const memory = await startVeer(s, 'veer (memory)', {
      state: 'state: { store: memory }',
      cpu: s.proxyCpu,
      upstreams,
    });
    started.push(memory);
    stopLight = lightTraffic([started[0].port, started[1].port], LIGHT_RPS);
    const load = await passes(s, { memory, redis });
    const light = await stopLight();
    stopLight = null;
    await client.connect();
    const { MergedMetricsSource } = await import(pathToFileURL(path.join(s.dist, 'metrics', 'merged-source.js')).href);
    const source = new MergedMetricsSource({ redis: client, prefix: PREFIX });
    await sleep(3_000); // every replica has flushed the passes; the lag bursts start from quiet
    console.log('  merged-metrics lag:');
    const lag = await mergedLag(s, source, [redis.port, started[0].port, started[1].port]);
    return { load, light, lag };
  } finally {
    client.disconnect();
    if (stopLight) await stopLight();
    for (const v of started.reverse()) await v.stop();
  }
}

const fmt = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(d));
const rps = (v) => (v === null || v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'));
// Median, not mean: one pass on this shared VM can run 40% fast or slow, and a mean would follow it.
const median = (xs) => {
  const v = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  return v.length === 0 ? null : v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const max = (xs) => (xs.length ? Math.max(...xs) : null);

function row(name, rs) {
  const bad = rs.reduce((n, r) => n + r.errors + r.timeouts, 0);
  const non2xx = rs.reduce((n, r) => n + r.non2xx, 0);
  const each = rs.map((r) => rps(r.reqPerSecMean)).join(' / ');
  return [
    name,
    rps(median(rs.map((r) => r.reqPerSecMean))),
    each,
    fmt(median(rs.map((r) => r.p50))),
    fmt(median(rs.map((r) => r.p99))),
    `${bad}/${non2xx}`,
    fmt(max(rs.map((r) => r.otherCores ?? 0))),
  ];
}

/** How far passes of one and the same process spread here: the scale below which a ratio means nothing. */
function noise(rs) {
  const v = rs.map((x) => x.reqPerSecMean);
  if (v.length < 2) return 'One round only: no estimate of the pass-to-pass noise.';
  return (
    `The same memory veer varied ${(((Math.max(...v) - Math.min(...v)) / median(v)) * 100).toFixed(0)}% between ` +
    'its passes (min to max over the median): differences below that are noise on this machine.'
  );
}

function disturbance(results) {
  const worst = Math.max(0, ...results.map((r) => r.otherCores ?? 0));
  return worst >= DISTURBED_CORES
    ? `Other processes kept up to ${worst.toFixed(2)} cores busy during a load pass: the req/s are disturbed and ` +
        'the ratio is not reliable; rerun on a quiet machine (BENCH_RETRIES=2 helps).'
    : `Other processes stayed below ${DISTURBED_CORES} cores during every load pass.`;
}

function render(s, startedAt, r) {
  // Each round's two passes ran back to back: their ratio cancels the slow drift that moves both.
  const ratios = r.load.redis
    .map((x, i) => x.reqPerSecMean / (r.load.memory[i]?.reqPerSecMean ?? Number.NaN))
    .filter(Number.isFinite);
  const ratio = median(ratios);
  const spread = ratios.length ? `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}×` : 'n/a';
  const lags = r.lag.map((b) => b.lagMs);
  const worst = lags.includes(null) ? null : max(lags);
  const typical = median(lags);
  const mark = (ok) => (ok ? 'PASS' : 'MISS');
  // A `\` ending a line of the template continues that line: the text has no line break there.
  return `## Redis state store (\`npm run bench:redis\`)

${new Date(startedAt).toISOString().slice(0, 10)} on ${machineLine()}. \
${s.wrk ? 'wrk (1 thread)' : 'autocannon'}, ${s.connections} connections, ${s.durationS} s after a
${s.warmupS} s warm-up per pass, GET / → 200 (100 bytes) through veer \
(weight 10, sticky cookie never sent back: every request is split).
${
  s.pin
    ? 'Pinned: the veer under test on CPU 1; load generator, upstreams, redis-server and two more replicas on CPU 0.'
    : 'Not pinned (taskset missing or < 2 CPUs): noisier.'
}
Both veers run side by side for the whole run; ${s.rounds} round(s) of one pass each, the order flipped every round.
redis = \`state: { store: redis }\` with two more replicas on the same Redis and prefix \
(${LIGHT_RPS} req/s each, paced): three replicas flushing metrics every second.

${table(
  [
    'state store',
    'req/s (median of rounds)',
    'each round',
    'p50 ms (median)',
    'p99 ms (median)',
    'errors/non-2xx',
    'other procs, cores (max)',
  ],
  [row('memory', r.load.memory), row('redis (3 replicas flushing)', r.load.redis)],
)}
${noise(r.load.memory)}

Merged-metrics lag: ${r.lag.length} bursts of ${BURST_PER_REPLICA} requests to each of the three replicas, \
from the burst's last response
until MergedMetricsSource (what the leader's judge reads) counts all of them: \
${lags.map((v) => (v === null ? '> 10000' : v)).join(', ')} ms (median ${typical ?? 'n/a'} ms).
By design a request's second is shipped by each replica's flusher at its first one-second tick \
at least 200 ms after that second
ended, so the lag after a request is 0.2–2.2 s depending on where in the second it ended \
and on the replicas' tick phases:
the worst case can exceed 2 s, the bursts sample it.

${table(
  ['check', 'value', 'target', 'result'],
  [
    [
      "redis / memory req/s (median of the rounds' ratios)",
      ratio === null ? 'n/a' : `${ratio.toFixed(3)}× (rounds ${spread})`,
      '≥ 0.95×',
      ratio === null ? 'n/a' : mark(ratio >= 0.95),
    ],
    [
      'merged metrics lag (worst burst)',
      worst === null ? '> 10 s' : `${(worst / 1000).toFixed(2)} s`,
      '≤ 2 s',
      mark(worst !== null && worst <= 2_000),
    ],
  ],
)}

The extra replicas' light traffic: ${r.light.sent} requests, ${r.light.failed} failed.
${disturbance([...r.load.memory, ...r.load.redis])}
`;
}

async function main() {
  installExitHandlers();
  const s = { ...settings(process.env), wrk: findWrk() };
  const startedAt = Date.now();
  // nginx upstreams when installed, as in `npm run bench`: a Node upstream would cap the load CPU first.
  const nginx = findNginx();
  const upstreams = { a: await startUpstream('A', s.loadCpu, nginx), b: await startUpstream('B', s.loadCpu, nginx) };
  const redis = await startRedis(s.loadCpu);
  try {
    const result = await run(s, upstreams, redis.url);
    if (wasInterrupted()) return;
    const body = render(s, startedAt, result);
    console.log(`\n${body}`);
    writeSection('redis', body);
    console.log('wrote the redis section of bench/RESULTS.md');
  } finally {
    await stopChild(redis.child);
    for (const u of [upstreams.a, upstreams.b]) await u.stop();
  }
}

main().then(
  () => {
    if (!wasInterrupted()) process.exit(0);
  },
  (err) => {
    if (wasInterrupted()) return;
    console.error(`bench failed: ${err?.stack ?? err}`);
    killAllNow();
    process.exit(1);
  },
);
