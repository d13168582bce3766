// How fast a routing change reaches every worker (target: 50 ms): veer with 2 workers, a series of shifts
// through the admin API, first idle, then while wrk saturates the workers (their loops busy with requests,
// so the snapshot waits its turn). Each shift is read twice: the lag veer reports (GET /v1/workers: the
// primary's send to the last worker applying it, each worker's stamp on the host's monotonic clock), and the
// outside view, from the shift request sent to every worker seen acknowledging it (polled every 2 ms, so an
// upper bound: it also holds the admin API's round trips and the primary reading the acks).
import { HOST, adminCall } from './net.mjs';
import { startVeer } from './veer.mjs';
import { runWrk } from './wrk.mjs';
import { median } from './median.mjs';
import { sleep } from './procs.mjs';

const SHIFTS = 20;
const TARGET_MS = 50;
const ACK_BOUND_MS = 5_000;

async function adminJson(port, method, path, body) {
  const r = await adminCall(`http://${HOST}:${port}`, method, path, body, 5_000);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** One shift: { lagMs (veer's), seenMs (outside) }, or { timedOut } when the acks did not come within the bound. */
async function oneShift(adminPort, weight) {
  const before = (await adminJson(adminPort, 'GET', '/v1/workers')).snapshot.version;
  const t0 = performance.now();
  await adminJson(adminPort, 'POST', '/v1/services/bench/shift', { weight });
  for (let i = 0; performance.now() - t0 < ACK_BOUND_MS && i < 10_000; i++) {
    const view = await adminJson(adminPort, 'GET', '/v1/workers');
    if (view.workers.length > 0 && view.workers.every((w) => w.snapshotVersion > before))
      return { lagMs: view.snapshot.lagMs, seenMs: performance.now() - t0 };
    await sleep(2);
  }
  return { timedOut: true };
}

async function shifts(adminPort, until = () => true) {
  const out = [];
  for (let i = 0; i < SHIFTS && until(); i++) out.push(await oneShift(adminPort, i % 2 === 0 ? 20 : 10));
  return out;
}

function summary(list) {
  const done = list.filter((r) => !r.timedOut && r.lagMs !== null);
  const lags = done.map((r) => r.lagMs);
  const seen = done.map((r) => r.seenMs);
  const max = (v) => (v.length ? Math.max(...v) : null);
  return {
    shifts: list.length,
    timedOut: list.length - done.length,
    lagMedian: median(lags),
    lagMax: max(lags),
    seenMedian: median(seen),
    seenMax: max(seen),
  };
}

/** { idle, loaded } summaries (null when the pass could not run). */
export async function snapshotLagPass(s, ctx) {
  if (!s.wrk) return null;
  console.log(`snapshot lag: veer with 2 workers, ${SHIFTS} shifts idle, then ${SHIFTS} under saturating load …`);
  const veer = await startVeer(ctx.root, { upstreamA: ctx.a.port, upstreamB: ctx.b.port, extra: 'workers: 2\n' });
  try {
    const idle = summary(await shifts(veer.adminPort));
    const url = `http://${HOST}:${veer.port}/`;
    const durationS = Math.max(10, s.durationS);
    let loading = true;
    const load = runWrk(s.wrk, { url, connections: s.connections, durationS, warmupS: 0 }).finally(() => {
      loading = false;
    });
    await sleep(1_000); // the load is up before the first shift
    const loaded = summary(await shifts(veer.adminPort, () => loading));
    const r = await load;
    return { idle, loaded, loadReqPerSec: r.reqPerSecMean };
  } catch (err) {
    console.error(`  snapshot lag: FAILED — ${err.message}`);
    return null;
  } finally {
    await veer.stop();
  }
}

const ms = (v) => (v === null ? 'n/a' : v.toFixed(1));

/** The section's lines (markdown). */
export function snapshotLagBlock(result) {
  if (!result) return ['Snapshot lag: not measured (needs wrk, or the pass failed: see its output).'];
  const row = (name, x) =>
    `| ${name} | ${x.shifts} | ${ms(x.lagMedian)} | ${ms(x.lagMax)} | ` +
    `${ms(x.seenMedian)} | ${ms(x.seenMax)} | ${x.timedOut} |`;
  const parts = [result.idle, result.loaded];
  // A shift never acknowledged, or a pass with no shift read, is a miss, not a gap in the figure.
  const complete = parts.every((x) => x.shifts > 0 && x.timedOut === 0 && x.lagMax !== null);
  const worst = complete ? Math.max(...parts.map((x) => x.lagMax)) : null;
  const verdict = complete && worst <= TARGET_MS ? 'PASS' : 'MISS';
  return [
    'A routing change reaching every worker (veer, 2 workers, nothing pinned; shifts through the admin API; "lag" is',
    'veer\'s own figure, the primary\'s send to the last worker applying it; "seen" is from the shift request sent',
    'to every worker seen acknowledging it through the admin API, polled every 2 ms):',
    '',
    '| while | shifts | lag p50 ms | lag max ms | seen p50 ms | seen max ms | not acknowledged in 5 s |',
    '|---|---|---|---|---|---|---|',
    row('idle', result.idle),
    row(`wrk saturating it (${Math.round(result.loadReqPerSec).toLocaleString('en-US')} req/s)`, result.loaded),
    '',
    `snapshot lag, worst: ${ms(worst)} ms (target ≤ ${TARGET_MS} ms: ${verdict})`,
  ];
}
