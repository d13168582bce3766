#!/usr/bin/env node
// `npm run bench:ab`: this build of veer (dist/) against another build, side by side on one core
// (bench/side-by-side.mjs), the way a change to the request path is measured before it is kept. Each round runs
// both under their own wrk at the same time, so whatever slows the host slows both; prints each round's ratio of
// req/s (this build over the other) and their median. Writes nothing.
// A pair of processes keeps a bias of its own for its whole life: one build against itself read 0.968 (6 of 6 rounds
// below 1) in one pair and 1.03 in the next. So the rounds are split into sets, each on a fresh pair of processes,
// and a set's median is a figure to compare with the others.
// Env: BENCH_BASE_CLI=path/to/cli.js (required: the other build, e.g. a copy of dist/ made before the change, kept
//      inside the project so it finds node_modules), BENCH_SETS (1–9, 3), BENCH_ROUNDS per set (1–12, 4),
//      BENCH_DURATION (s, 8), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (64), BENCH_UPSTREAM=length|chunked (how the
//      upstreams frame their answers: a Content-Length, or the same body in chunked coding), BENCH_RATE (req/s:
//      each build paced at that rate instead of saturated, and the figure is CPU per request, the other build's over
//      this one's, from each process's user and system time: above 1, this build costs less per request).
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeSeconds } from './cpu.mjs';
import { installExitHandlers, runBench, tasksetPath } from './procs.mjs';
import { median } from './median.mjs';
import { findNginx } from './nginx.mjs';
import { startProxy, startUpstream, warmJit } from './targets.mjs';
import { atOnce, loadOf, sideBySideRounds } from './side-by-side.mjs';
import { findWrk, runWrk } from './wrk.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

function settingsFromEnv(env) {
  const num = (name, def, max = Infinity) => {
    const v = env[name] === undefined || env[name] === '' ? def : Number(env[name]);
    if (!Number.isFinite(v) || v <= 0 || v > max)
      throw new Error(`${name} must be a number in (0, ${max}], got "${env[name]}"`);
    return v;
  };
  const baseCli = env.BENCH_BASE_CLI ? path.resolve(env.BENCH_BASE_CLI) : '';
  if (!baseCli || !existsSync(baseCli))
    throw new Error(`BENCH_BASE_CLI must name the other build's cli.js (got "${env.BENCH_BASE_CLI ?? ''}")`);
  const framing = env.BENCH_UPSTREAM || 'length';
  if (framing !== 'length' && framing !== 'chunked')
    throw new Error(`BENCH_UPSTREAM must be length or chunked, got "${framing}"`);
  if (!tasksetPath || os.cpus().length < 2) throw new Error('the side-by-side pass needs taskset and two CPUs');
  const rate = env.BENCH_RATE ? Math.round(num('BENCH_RATE', 0, 100_000)) : null;
  return {
    baseCli,
    framing,
    rate,
    sets: Math.round(num('BENCH_SETS', 3, 9)),
    rounds: Math.round(num('BENCH_ROUNDS', 4, 12)),
    durationS: num('BENCH_DURATION', 8, 600),
    warmupS: num('BENCH_WARMUP', 2, 60),
    connections: Math.round(num('BENCH_CONNECTIONS', 64, 10_000)),
    loadCpu: 0,
    proxyCpu: 1,
  };
}

/**
 * A paced round (BENCH_RATE): both builds paced at `s.rate` at the same time, each by its own wrk; the second's CPU
 * per request over the first's. A pair is warmed up once, before its first round, so a round's CPU is its measured
 * requests' alone.
 */
async function cpuPerRequestRatio(s, proxies, round) {
  const paced = (durationS) => (p) => runWrk(s.wrk, { ...loadOf(s, p), rate: s.rate, durationS, warmupS: 0 });
  if (round === 0) {
    // Saturated first, as the paced pass of `npm run bench` warms each target (bench/targets.mjs).
    await atOnce(proxies, round, (p) => warmJit(s.wrk, loadOf(s, p)));
    await atOnce(proxies, round, paced(s.warmupS));
  }
  const before = proxies.map((p) => treeSeconds(p.pid));
  const results = await atOnce(proxies, round, paced(s.durationS));
  const cpuUs = proxies.map((p, i) => ((treeSeconds(p.pid) - before[i]) * 1e6) / results[i].total);
  s.onPacedRound(round, results, cpuUs);
  return cpuUs[1] / cpuUs[0];
}

async function main() {
  installExitHandlers();
  const s = settingsFromEnv(process.env);
  s.wrk = findWrk();
  if (!s.wrk) throw new Error('wrk is not installed (apt-get install wrk)');
  const nginxBin = findNginx();
  console.log(
    `this build (dist/) / ${path.relative(process.cwd(), s.baseCli)}, side by side on CPU 1, wrk on CPU 0, ` +
      `${s.connections} connections, ${s.rate ? `each paced at ${s.rate} req/s, ` : ''}` +
      `${s.sets} sets of ${s.rounds} rounds of ${s.durationS} s; ` +
      `upstreams: ${nginxBin ? 'nginx' : 'Node'}, ${s.framing === 'chunked' ? 'chunked answers' : 'Content-Length'}`,
  );
  const a = await startUpstream('A', s.loadCpu, nginxBin, s.framing);
  const b = await startUpstream('B', s.loadCpu, nginxBin, s.framing);
  try {
    const ctx = { a, b, nginxBin, baseCli: s.baseCli, root: path.resolve(here, '..') };
    s.onRound = (round, next, base) =>
      console.log(
        `  round ${round + 1}: this ${next.reqPerSecMean.toFixed(0)} req/s, other ${base.reqPerSecMean.toFixed(0)}, ` +
          `ratio ${(next.reqPerSecMean / base.reqPerSecMean).toFixed(3)}`,
      );
    s.onPacedRound = (round, [next, base], [nextUs, baseUs]) =>
      console.log(
        `  round ${round + 1}: this ${nextUs.toFixed(1)} µs/request (p99 ${next.p99.toFixed(2)} ms), ` +
          `other ${baseUs.toFixed(1)} (p99 ${base.p99.toFixed(2)} ms), ratio ${(baseUs / nextUs).toFixed(3)}`,
      );
    const measure = s.rate ? cpuPerRequestRatio : undefined;
    const all = [];
    for (let set = 1; set <= s.sets; set++) {
      console.log(`set ${set} of ${s.sets}, a fresh pair of processes:`);
      const starters = [() => startProxy(s, 'veer', ctx), () => startProxy(s, 'veer-base', ctx)];
      const r = await sideBySideRounds(s, starters, measure);
      console.log(`  set ${set}: median ${r.median.toFixed(3)}`);
      all.push(...r.ratios);
    }
    const above = all.filter((x) => x > 1).length;
    const what = s.rate ? 'CPU per request, other / this' : 'req/s, this / other';
    console.log(`${what}: median ${median(all).toFixed(3)} of ${all.length} rounds, ${above} above 1`);
  } finally {
    await a.stop();
    await b.stop();
  }
}

runBench(main);
