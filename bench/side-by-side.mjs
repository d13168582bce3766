// The side-by-side pass of `npm run bench`: two proxies pinned to the same core at the same time, each under
// its own wrk (both generators on the load core). The kernel shares the core between them evenly, so the
// ratio of their req/s is the inverse of the ratio of their CPU cost per request, and whatever else slows the
// machine (a neighbour on the host, a noisy virtual CPU) slows both alike: the interleaved rounds, one proxy
// after another, cannot promise that on a shared host, and their ratio moves with it.
import { median } from './median.mjs';
import { HOST } from './net.mjs';
import { LTS_TARGETS, startProxy } from './targets.mjs';
import { runWrk } from './wrk.mjs';

const PAIRS = [
  ['veer', 'bare'],
  ['veer-nolog', 'bare'],
  ['veer-lts', 'bare-lts'],
  // The 2.2× target per request of CPU, read as veer / bare is: the interleaved rounds' ratio moves with the host.
  ['veer', 'http-proxy'],
  // The same against http-proxy as most run it (no agent: a connection per request), for the reader's scale.
  ['veer', 'http-proxy-shipped'],
  // The floor of any Node proxy here (bench/relay.mjs: bytes copied, no HTTP), against http-proxy and against veer:
  // how far the 2.2× target sits from what Node's sockets alone cost on this host.
  ['relay', 'http-proxy'],
  ['veer', 'relay'],
  // What a front without node:http would give back (bench/lean-front.mjs): the budget of that redesign.
  ['lean', 'bare'],
  // veer on node:http's front (proxy.front: node), its defaults otherwise: what veer's own front gives back.
  ['veer-node', 'bare'],
  ['veer', 'veer-node'],
];

/**
 * Two proxies started by `starters` (each resolves with { port, stop() }), measured side by side for s.rounds
 * rounds: { ratios, median } of what `measure(s, proxies, round)` makes of each round (by default the first's req/s
 * over the second's). Throws when one cannot start.
 */
export async function sideBySideRounds(s, starters, measure = reqPerSecRatio) {
  const proxies = [];
  try {
    for (const start of starters) proxies.push(await start());
    const ratios = [];
    for (let round = 0; round < s.rounds; round++) ratios.push(await measure(s, proxies, round));
    return { ratios, median: median(ratios) };
  } finally {
    for (const p of proxies) await p?.stop?.();
  }
}

/** `run(proxy)` for both proxies at once; its results in the proxies' order. */
export async function atOnce(proxies, round, run) {
  // Which generator starts first flips every round: with a fixed order, two copies of one build were
  // measured up to ~5% apart, so the order is not allowed to favour one side.
  const order = round % 2 === 0 ? proxies : [...proxies].reverse();
  const results = await Promise.all(order.map(run));
  return round % 2 === 0 ? results : [...results].reverse();
}

/** wrk's load on `p`, from the load core, over s.connections connections. */
export const loadOf = (s, p) => ({ url: `http://${HOST}:${p.port}/`, connections: s.connections, cpu: s.loadCpu });

async function reqPerSecRatio(s, proxies, round) {
  const [a, b] = await atOnce(proxies, round, (p) =>
    runWrk(s.wrk, { ...loadOf(s, p), durationS: s.durationS, warmupS: s.warmupS }),
  );
  s.onRound?.(round, a, b);
  return a.reqPerSecMean / b.reqPerSecMean;
}

/**
 * The pairs whose ratio is a target (veer / bare, veer / http-proxy, on either Node) run in sets, each on a fresh pair
 * of processes: a pair keeps a bias of its own for its whole life, and one build against http-proxy read 1.60× in one
 * pair and 2.07× in the next (bench/RESULTS.md, 2026-12-07 night). The others, for information, in one.
 */
const TARGET_PAIRS = new Set(['veer/bare', 'veer/http-proxy', 'veer-lts/bare-lts']);
const SETS = 3;
const setsOf = (pair) => (TARGET_PAIRS.has(pair.join('/')) ? SETS : 1);

async function pairRounds(s, ctx, pair) {
  const sets = setsOf(pair);
  const ratios = [];
  const setMedians = [];
  try {
    for (let set = 0; set < sets; set++) {
      const r = await sideBySideRounds(
        s,
        pair.map((t) => () => startProxy(s, t, ctx)),
      );
      ratios.push(...r.ratios);
      setMedians.push(r.median);
    }
    return { ratios, median: median(ratios), setMedians };
  } catch (err) {
    console.error(`  ${pair.join(' / ')}: FAILED — ${err.message}`);
    return { skipped: String(err.message).split('\n')[0] };
  }
}

/** [{ pair, ratios, median } | { pair, skipped }], or null without wrk or pinning (the pass needs both). */
export async function sideBySidePass(s, ctx) {
  if (!s.wrk || !s.pin) {
    console.log('side-by-side pass: skipped (needs wrk and two CPUs to pin to)');
    return null;
  }
  // http-proxy as shipped and the relay are measured here only: they come with http-proxy.
  const chosen = (t) => s.only.includes(t === 'http-proxy-shipped' || t === 'relay' ? 'http-proxy' : t);
  const pairs = PAIRS.filter((p) => p.every((t) => chosen(t) && (!LTS_TARGETS.has(t) || ctx.ltsNode)));
  const out = [];
  for (const pair of pairs) {
    const sets = setsOf(pair) > 1 ? `${SETS} sets of ` : '';
    console.log(`side by side on CPU ${s.proxyCpu}: ${pair.join(' and ')}, ${sets}${s.rounds} round(s) …`);
    out.push({ pair, ...(await pairRounds(s, ctx, pair)) });
  }
  return out;
}

/** Lines for the report; `checks` reads the veer / bare row from `rows` too. */
export function sideBySideBlock(rows) {
  if (!rows) return ['Side-by-side pass: not run (needs wrk and two CPUs).'];
  const lines = [
    'Side by side (both proxies pinned to CPU 1 at the same time, each under its own wrk on CPU 0; ratio of req/s;',
    `the pairs with a target in ${SETS} sets, each on a fresh pair of processes, the median of all their rounds):`,
    '',
    '| pair | ratio (median) | set medians | each round |',
    '|---|---|---|---|',
  ];
  const x = (v) => `${v.toFixed(2)}×`;
  for (const r of rows) {
    const name = r.pair.join(' / ');
    if (r.skipped) lines.push(`| ${name} | skipped: ${r.skipped} | | |`);
    else
      lines.push(`| ${name} | ${x(r.median)} | ${r.setMedians.map(x).join(' / ')} | ${r.ratios.map(x).join(' / ')} |`);
  }
  return lines;
}
