#!/usr/bin/env node
// `npm run bench`: direct vs veer vs a bare undici proxy (the Node ceiling) vs http-proxy vs nginx in one
// run, same load for each (wrk, a native generator; autocannon only when wrk cannot be installed), in
// BENCH_ROUNDS interleaved rounds (the spread between rounds is a figure too), then a paced fixed-rate
// latency pass; prints a table and rewrites the bench section of bench/RESULTS.md.
// Env: BENCH_DURATION (s, 10), BENCH_CONNECTIONS (64), BENCH_WARMUP (s, 2), BENCH_ROUNDS (1–9, 3),
//      BENCH_ONLY=direct,veer,bare,http-proxy,nginx (subset), BENCH_PROFILE=1 (CPU profile of veer),
//      BENCH_VEER_CLI=path/to/cli.js (default dist/cli.js), BENCH_RETRIES (0–5, default 0: repeat a
//      pass disturbed by other processes and keep the least disturbed attempt), BENCH_WORKERS=0|1 (the
//      workers pass: veer and nginx with 1 and 2 workers, then how fast a routing change reaches each of veer's
//      workers; default 1 on a complete run, 0 with BENCH_ONLY).
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  installExitHandlers,
  runBench,
  startChild,
  stopChild,
  tasksetPath,
  waitForJsonLine,
  wasInterrupted,
} from './procs.mjs';
import { findNginx, nginxVersion } from './nginx.mjs';
import { LTS_TARGETS, TARGETS, measure, startUpstream } from './targets.mjs';
import { spawnSync } from 'node:child_process';
import { findWrk } from './wrk.mjs';
import { newestProfile, formatTopSelf } from './profile.mjs';
import { machineInfo, render, writeResults } from './report.mjs';
import { median, middleBy } from './median.mjs';
import { workersBlock, workersPass } from './workers.mjs';
import { snapshotLagBlock, snapshotLagPass } from './snapshot-lag.mjs';
import { sideBySideBlock, sideBySidePass } from './side-by-side.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const chrtPath = spawnSync('sh', ['-c', 'command -v chrt'], { encoding: 'utf8' }).stdout?.trim() || null;

function settingsFromEnv(env) {
  const num = (name, def) => {
    const v = env[name] === undefined || env[name] === '' ? def : Number(env[name]);
    if (!Number.isFinite(v) || v < 0) throw new Error(`${name} must be a non-negative number, got "${env[name]}"`);
    return v;
  };
  const only = env.BENCH_ONLY
    ? env.BENCH_ONLY.split(',')
        .map((t) => t.trim())
        .filter(Boolean)
    : TARGETS;
  const unknown = only.filter((t) => !TARGETS.includes(t));
  if (unknown.length)
    throw new Error(`BENCH_ONLY: unknown target(s) ${unknown.join(', ')} (known: ${TARGETS.join(', ')})`);
  const pin = Boolean(tasksetPath) && os.cpus().length >= 2;
  return {
    durationS: Math.max(1, num('BENCH_DURATION', 10)),
    connections: Math.max(1, Math.round(num('BENCH_CONNECTIONS', 64))),
    warmupS: num('BENCH_WARMUP', 2),
    retries: Math.min(5, Math.round(num('BENCH_RETRIES', 0))),
    rounds: Math.min(9, Math.max(1, Math.round(num('BENCH_ROUNDS', 3)))),
    only: TARGETS.filter((t) => only.includes(t)),
    profile: env.BENCH_PROFILE === '1' || env.BENCH_PROFILE === 'true',
    pin,
    pinNote: pin ? null : tasksetPath ? 'fewer than 2 CPUs' : 'taskset not found',
    loadCpu: pin ? 0 : undefined,
    proxyCpu: pin ? 1 : undefined,
  };
}

function describe(s) {
  return [
    `Load: ${s.wrk ? 'wrk (1 thread)' : 'autocannon (wrk unavailable)'}, ${s.connections} connections, ` +
      `${s.durationS} s per target after a ${s.warmupS} s warm-up (not counted), ${s.rounds} interleaved ` +
      'round(s) (median shown, spread = (max − min) / median), HTTP/1.1 keep-alive, GET / → 200, 100-byte body',
    s.pin
      ? 'Pinning (taskset): proxy under test on CPU 1; load generator and both upstreams on CPU 0'
      : `Pinning: none (${s.pinNote}), so results are noisier`,
    `Upstreams: ${s.nginxUpstreams ? 'nginx (1 worker each, static 200)' : 'Node (bench/upstream.mjs)'}; ` +
      "direct = the generator straight at upstream A (the load CPU's ceiling)",
    'veer: weight 10 (stable A / canary B), sticky cookie veer-bench (never sent back, so every request is split), ' +
      'state memory, metrics on, X-Forwarded-*, request ids and the access log (its default: stdout, a file here); ' +
      'veer-nolog: the same with accessLog.enabled false; ' +
      "veer-node: the same with proxy.front node (node:http reads every request; the default is veer's own front); " +
      'bare: bench/bare-proxy.mjs, undici dispatch to A and nothing else; ' +
      'lean: bench/lean-front.mjs, the same dispatch behind a raw net server parsing with llhttp',
    'veer-lts, bare-lts: the same on the current Node LTS (scripts/lts-node.sh)',
    'http-proxy: keep-alive agent (maxSockets 256) to A; http-proxy-shipped (side by side only): ' +
      '`createProxyServer({ target })` alone, a new upstream connection per request; ' +
      'relay (side by side only): bench/relay.mjs, a TCP relay to A with no HTTP (a connection to A for each client ' +
      'connection), the floor of any Node proxy; nginx: 1 worker, A weight 9 / B weight 1, keepalive 64',
    "Latency: wrk's percentiles (saturation and the paced pass, µs resolution)",
    '"other procs, cores": average CPU used by processes outside this bench during that measurement' +
      (s.retries ? ` (disturbed passes retried up to ${s.retries}×, least disturbed kept)` : ''),
  ];
}

async function fixedRatePass(s, ctx, sat) {
  const veer = sat.find((x) => x.target === 'veer' && !x.result.skipped)?.result;
  if (!veer) {
    console.log('fixed-rate pass: skipped (veer was not measured)');
    return null;
  }
  const rate = Math.max(1, Math.round(veer.reqPerSecMean / 4));
  console.log(`fixed-rate pass at ${rate} req/s (1/4 of veer's saturation):`);
  // The bare proxy and nginx at the same rate show the floor a proxy on this machine adds (a request crosses
  // to the proxy's core and back twice; an idle virtual CPU takes time to wake).
  // veer on the Node LTS too: the runtime its image ships with.
  const others = ['veer-lts', 'veer-node', 'bare', 'nginx'].filter(
    (t) => s.only.includes(t) && (t !== 'nginx' || ctx.nginxBin) && (t !== 'veer-lts' || ctx.ltsNode),
  );
  // node:http answering by itself on the proxy's core: Node's tail at this rate with one socket per request and
  // no upstream hop, beside each proxy's CPU per request (the tail follows that cost: see bench/RESULTS.md). The
  // TCP relay (bench/relay.mjs), with http-proxy: the tail of the least a Node proxy can do, the upstream hop in it.
  const floor = s.only.includes('http-proxy') ? ['relay'] : [];
  const targets = ['direct', 'veer', ...others, ...floor, 'node-hello'];
  // A tail is what a few stalls make of it: one pass per target moved veer's p99 between 3 and 6 ms here, so
  // the targets take turns for BENCH_ROUNDS rounds and each shows its round with the median p99. The proxy's
  // core is kept from halting meanwhile (bench/awake.mjs), the same for every target.
  const runs = new Map(targets.map((t) => [t, []]));
  const awake = keepAwake(s, (s.rounds * targets.length + 2) * (s.warmupS + s.durationS + 30));
  try {
    for (let round = 1; round <= s.rounds; round++) {
      console.log(`fixed-rate pass, round ${round}/${s.rounds}${awake ? ' (proxy core kept awake)' : ''}:`);
      for (const target of targets)
        runs.get(target).push((await measure(s, target, ctx, [{ kind: 'paced', rate }]))[0]);
    }
  } finally {
    if (awake) await stopChild(awake, 5_000);
  }
  const paced = targets.map((target) => ({ target, result: medianTail(runs.get(target)) }));
  // What the host's halting costs: one more round, the core left free to halt.
  const halting = [];
  if (awake) {
    console.log('fixed-rate pass, one round with the proxy core free to halt:');
    for (const target of targets.filter((t) => ['direct', 'veer', 'nginx'].includes(t)))
      halting.push({ target, result: (await measure(s, target, ctx, [{ kind: 'paced', rate }]))[0] });
  }
  return { rate, paced, halting, awake: Boolean(awake), gaps: await cpuGaps(s.proxyCpu) };
}

/** The SCHED_IDLE spinner on the proxy's core (bench/awake.mjs), or null when unpinned or chrt is missing. */
function keepAwake(s, seconds) {
  if (!s.pin || !chrtPath) return null;
  return startChild('awake', chrtPath, ['-i', '0', process.execPath, path.join(here, 'awake.mjs'), String(seconds)], {
    cpu: s.proxyCpu,
  });
}

/** The round with the median p99, with every round's p99 and the median CPU per request; skipped when none ran. */
function medianTail(list) {
  const done = list.filter((r) => !r.skipped && r.p99 !== null);
  if (done.length === 0) return list[0] ?? { skipped: 'not run' };
  const cpuUsPerRequest = median(done.map((r) => r.cpuUsPerRequest).filter((v) => typeof v === 'number'));
  return { ...middleBy(done, 'p99'), p99s: done.map((r) => r.p99), cpuUsPerRequest };
}

/** The proxy core's own stalls over 10 s with nothing running on it (bench/cpu-gaps.mjs); null if unread. */
async function cpuGaps(cpu) {
  const child = startChild('cpu-gaps', process.execPath, [path.join(here, 'cpu-gaps.mjs'), '10'], { cpu });
  try {
    return await waitForJsonLine(child, (v) => v.result === true, 30_000);
  } catch {
    return null;
  } finally {
    await stopChild(child, 5_000);
  }
}

/** The current Node LTS (scripts/lts-node.sh fetches it once), or null when it cannot be had. */
function findLtsNode() {
  const r = spawnSync('bash', [path.join(here, '..', 'scripts', 'lts-node.sh')], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  const bin = r.status === 0 ? r.stdout.trim().split('\n').pop() : '';
  if (!bin) console.log(`Node LTS: not available (${r.stderr.trim() || 'lts-node.sh failed'}); veer-lts skipped`);
  else console.log(`Node LTS: ${spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim()} (${bin})`);
  return bin || null;
}

/** The round with the median req/s, with every round's req/s and the spread; skipped when none ran. */
function medianRun(list) {
  const done = list.filter((r) => !r.skipped);
  if (done.length === 0) return list[0] ?? { skipped: 'not installed' };
  const mid = middleBy(done, 'reqPerSecMean');
  const all = done.map((r) => r.reqPerSecMean);
  const spread = (Math.max(...all) - Math.min(...all)) / mid.reqPerSecMean;
  return { ...mid, rounds: all, spread };
}

function printProfile(dir, sinceMs) {
  const file = newestProfile(dir, sinceMs);
  if (!file) {
    console.log(`\nBENCH_PROFILE: no .cpuprofile in ${dir} (veer must exit cleanly on SIGTERM to write one)`);
    return;
  }
  console.log(`\n${formatTopSelf(file, 15)}`);
}

async function main() {
  installExitHandlers();
  const s = settingsFromEnv(process.env);
  const nginxBin = findNginx();
  s.wrk = findWrk();
  const ltsNode = s.only.some((t) => LTS_TARGETS.has(t)) ? findLtsNode() : null;
  s.nginxUpstreams = Boolean(nginxBin);
  const machine = machineInfo(nginxVersion(nginxBin));
  const profileDir = path.join(here, '.out');
  if (s.profile) mkdirSync(profileDir, { recursive: true });
  const startedAt = Date.now();

  console.log(describe(s).slice(0, 2).join('\n'));
  if (s.only.includes('nginx') && !nginxBin) console.log('nginx: not installed, skipped');
  const a = await startUpstream('A', s.loadCpu, nginxBin);
  const b = await startUpstream('B', s.loadCpu, nginxBin);
  const ctx = { a, b, nginxBin, ltsNode, profileDir, root: path.resolve(here, '..') };

  const runs = new Map(s.only.map((t) => [t, []]));
  for (let round = 1; round <= s.rounds; round++) {
    console.log(`saturation pass, round ${round}/${s.rounds}:`);
    for (const target of s.only) {
      if ((target === 'nginx' && !nginxBin) || (LTS_TARGETS.has(target) && !ltsNode)) continue;
      const profile = s.profile && target === 'veer' && round === 1;
      const [result] = await measure(s, target, ctx, [{ kind: 'saturate' }], { profile });
      runs.get(target).push(result);
    }
  }
  const sat = s.only.map((target) => ({ target, result: medianRun(runs.get(target)) }));
  const side = await sideBySidePass(s, ctx);
  const fixed = await fixedRatePass(s, ctx, sat);
  const withWorkers = process.env.BENCH_WORKERS ? process.env.BENCH_WORKERS === '1' : s.only.length === TARGETS.length;
  const workers = withWorkers
    ? [...workersBlock(await workersPass(s, ctx)), '', ...snapshotLagBlock(await snapshotLagPass(s, ctx))]
    : [];
  await a.stop();
  await b.stop();
  // An interrupted run is incomplete: leave RESULTS.md as it was.
  if (wasInterrupted()) return;

  const partial = s.only.length < TARGETS.length ? s.only.join(', ') : null;
  const out = render({ settings: describe(s), machine, startedAt, partial, sat, fixed, workers, side });
  console.log(`\n${out.text}`);
  if (s.profile) printProfile(profileDir, startedAt);
  // A partial run must not replace a complete one; other benches own the rest of the file.
  if (partial) {
    console.log('\nbench/RESULTS.md not updated (partial run: BENCH_ONLY)');
    return;
  }
  writeResults(path.join(here, 'RESULTS.md'), out.markdown);
  console.log('\nwrote bench/RESULTS.md');
}

runBench(main);
