// The `workers` pass of `npm run bench`: veer with 1 and 2 data-plane workers and nginx with 1 and 2 worker
// processes, same load, nothing pinned (a second worker needs the second core), so the figures are the
// machine's req/s and each proxy's CPU-seconds per 10,000 requests (its whole process tree: primary and
// workers, nginx's master and workers). On a 2-core machine the load generator and the upstreams share the
// cores with the proxy, so 2 workers cannot double anything here; the CPU cost per request is the figure
// that carries over to bigger hosts.
import { HOST } from './net.mjs';
import { startNginx } from './nginx.mjs';
import { startVeer } from './veer.mjs';
import { runWrk } from './wrk.mjs';
import { treeSeconds } from './cpu.mjs';

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

/** [{ target, result }] for the four rows (wrk only: autocannon would share the cores it measures). */
export async function workersPass(s, ctx) {
  if (!s.wrk) {
    console.log('workers pass: skipped (needs wrk)');
    return null;
  }
  console.log('workers pass (nothing pinned):');
  const rows = [];
  for (const row of ROWS) {
    console.log(`  ${row.target}: ${s.warmupS}s warm-up + ${s.durationS}s …`);
    rows.push({ target: row.target, result: await measureRow(s, row, ctx) });
  }
  return rows;
}

const fixed = (v, d) => (v === null || v === undefined ? 'n/a' : v.toFixed(d));

/** The section's lines (markdown), with the ratio of 2 workers to 1 for veer and for nginx. */
export function workersBlock(rows) {
  if (!rows) return ['Workers pass: not run (needs wrk).'];
  const lines = [
    'Workers (nothing pinned; the load generator and both upstreams share the 2 cores with the proxy):',
    '',
    '| proxy | req/s | p99 ms | proxy CPU-s per 10k requests | proxy cores busy |',
    '|---|---|---|---|---|',
  ];
  for (const { target, result: r } of rows) {
    if (r.skipped) lines.push(`| ${target} | skipped: ${r.skipped} | | | |`);
    else
      lines.push(
        `| ${target} | ${Math.round(r.reqPerSecMean).toLocaleString('en-US')} | ${fixed(r.p99, 2)} | ` +
          `${fixed(r.cpuPer10k, 2)} | ${fixed(r.cores, 2)} |`,
      );
  }
  const by = new Map(rows.map((x) => [x.target, x.result]));
  for (const kind of ['veer', 'nginx']) {
    const one = by.get(`${kind}, 1 worker`);
    const two = by.get(`${kind}, 2 workers`);
    if (one?.reqPerSecMean && two?.reqPerSecMean)
      lines.push('', `${kind}: 2 workers / 1 worker req/s ${(two.reqPerSecMean / one.reqPerSecMean).toFixed(2)}×`);
  }
  return lines;
}
