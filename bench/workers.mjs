// The `workers` pass of `npm run bench`: veer with 1 and 2 data-plane workers and nginx with 1 and 2 worker
// processes, same load, nothing pinned (a second worker needs the second core), so the figures are the
// machine's req/s and each proxy's CPU-seconds per 10,000 requests (its whole process tree: primary and
// workers, nginx's master and workers). On a 2-core machine the load generator and the upstreams share the
// cores with the proxy, so 2 workers cannot double anything here; the CPU cost per request is the figure
// that carries over to bigger hosts. The four rows take turns for BENCH_ROUNDS rounds (each round starts
// at the next row, so none always runs first), and each figure is the median round: one run each moved
// veer's 2-worker/1-worker ratio between 0.82× and 1.89× on this host.
import { HOST } from './net.mjs';
import { startNginx } from './nginx.mjs';
import { startVeer } from './veer.mjs';
import { runWrk } from './wrk.mjs';
import { treeSeconds } from './cpu.mjs';
import { median, middleBy } from './median.mjs';

const ROWS = [
  { target: 'veer, 1 worker', kind: 'veer', workers: 1 },
  { target: 'veer, 2 workers', kind: 'veer', workers: 2 },
  { target: 'nginx, 1 worker', kind: 'nginx', workers: 1 },
  { target: 'nginx, 2 workers', kind: 'nginx', workers: 2 },
];

function start(row, ctx) {
  const ups = { upstreamA: ctx.a.port, upstreamB: ctx.b.port };
  if (row.kind === 'nginx') return ctx.nginxBin ? startNginx(ctx.nginxBin, { ...ups, workers: row.workers }) : null;
  return startVeer(ctx.root, { ...ups, extra: `workers: ${row.workers}\n` });
}

async function measureRow(s, row, ctx) {
  let proxy = null;
  try {
    proxy = await start(row, ctx);
    if (!proxy) return { skipped: 'not installed' };
    const load = { url: `http://${HOST}:${proxy.port}/`, connections: s.connections, warmupS: 0 };
    if (s.warmupS > 0) await runWrk(s.wrk, { ...load, durationS: Math.max(1, Math.round(s.warmupS)) });
    const before = treeSeconds(proxy.pid);
    const r = await runWrk(s.wrk, { ...load, durationS: s.durationS });
    const used = before === null ? null : treeSeconds(proxy.pid) - before;
    return { ...r, cpuPer10k: used === null ? null : (used * 10_000) / r.total, cores: used && used / r.durationS };
  } catch (err) {
    console.error(`  ${row.target}: FAILED — ${err.message}`);
    return { skipped: String(err.message).split('\n')[0] };
  } finally {
    await proxy?.stop();
  }
}

/** [{ target, result }] for the four rows, each its median round (wrk only: autocannon would share the cores). */
export async function workersPass(s, ctx) {
  if (!s.wrk) {
    console.log('workers pass: skipped (needs wrk)');
    return null;
  }
  const rounds = Math.max(1, s.rounds ?? 1);
  console.log(`workers pass (nothing pinned), ${rounds} round(s):`);
  const runs = new Map(ROWS.map((row) => [row.target, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < ROWS.length; i++) {
      const row = ROWS[(round + i) % ROWS.length];
      console.log(`  round ${round + 1}/${rounds}, ${row.target}: ${s.warmupS}s warm-up + ${s.durationS}s …`);
      runs.get(row.target).push(await measureRow(s, row, ctx));
    }
  }
  return ROWS.map((row) => ({ target: row.target, result: medianRow(runs.get(row.target)) }));
}

/** The median round by req/s, with every round's req/s and the median CPU cost over the rounds. */
function medianRow(list) {
  const done = list.filter((r) => !r.skipped);
  if (done.length === 0) return list[0];
  const costs = done.map((r) => r.cpuPer10k).filter((v) => v !== null);
  return {
    ...middleBy(done, 'reqPerSecMean'),
    rounds: done.map((r) => r.reqPerSecMean),
    cpuPer10k: median(costs),
  };
}

const fixed = (v, d) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));

/** The section's lines (markdown), with the ratio of 2 workers to 1 for veer and for nginx. */
export function workersBlock(rows) {
  if (!rows) return ['Workers pass: not run (needs wrk).'];
  const lines = [
    'Workers (nothing pinned; the load generator and both upstreams share the 2 cores with the proxy; the',
    'median round by req/s, and the median CPU cost over the rounds):',
    '',
    '| proxy | req/s | rounds (req/s) | p99 ms | proxy CPU-s per 10k requests | proxy cores busy |',
    '|---|---|---|---|---|---|',
  ];
  const rps = (v) => Math.round(v).toLocaleString('en-US');
  for (const { target, result: r } of rows) {
    if (r.skipped) lines.push(`| ${target} | skipped: ${r.skipped} | | | | |`);
    else
      lines.push(
        `| ${target} | ${rps(r.reqPerSecMean)} | ${(r.rounds ?? []).map(rps).join(' / ')} | ${fixed(r.p99, 2)} | ` +
          `${fixed(r.cpuPer10k, 2)} | ${fixed(r.cores, 2)} |`,
      );
  }
  const by = new Map(rows.map((x) => [x.target, x.result]));
  for (const kind of ['veer', 'nginx']) {
    const one = by.get(`${kind}, 1 worker`);
    const two = by.get(`${kind}, 2 workers`);
    if (!one?.reqPerSecMean || !two?.reqPerSecMean) continue;
    // Round k of both rows ran minutes apart at most: their ratio pairs like with like.
    const paired =
      (two.rounds ?? []).length === (one.rounds ?? []).length ? two.rounds.map((v, k) => v / one.rounds[k]) : [];
    const each = paired.length > 1 ? ` (round by round ${paired.map((v) => `${v.toFixed(2)}×`).join(' / ')})` : '';
    lines.push('', `${kind}: 2 workers / 1 worker req/s ${(two.reqPerSecMean / one.reqPerSecMean).toFixed(2)}×${each}`);
  }
  return lines;
}
