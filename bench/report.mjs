// Tables, target checks and the RESULTS.md section. Pure formatting apart from writeResults().
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { DISTURBED_CORES } from './cpu.mjs';
import { sideBySideBlock } from './side-by-side.mjs';
import { JIT_WARMUP_S } from './targets.mjs';

export const START = '<!-- bench:proxy:start -->';
export const END = '<!-- bench:proxy:end -->';

const INTRO = `# veer benchmark results

Written by \`npm run bench\` (bench/proxy.bench.mjs). The section between the markers is replaced on
every run; everything else in this file is kept as is.

`;

export function machineInfo(nginxVersion) {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model?.trim() ?? 'unknown',
    cores: cpus.length,
    memGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    nginx: nginxVersion,
    kernel: `${os.type()} ${os.release()}`,
  };
}

const ms = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(2));
const rps = (v) => (v === null || v === undefined ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const bad = (r) => `${r.errors + r.timeouts}/${r.non2xx}`;
const cores = (v) => (v === null || v === undefined ? 'n/a' : v.toFixed(2));

/** rows: [{ target, result }] where result is a worker's JSON or { skipped: reason }. */
function resultTable(firstHead, rows) {
  const rounds = rows.some(({ result: r }) => r.rounds !== undefined);
  const cpu = rows.some(({ result: r }) => typeof r.cpuUsPerRequest === 'number');
  const head = [firstHead, 'req/s', 'p50 ms', 'p99 ms', 'errors/non-2xx', 'other procs, cores'];
  if (rounds) head.splice(2, 0, 'rounds (req/s)', 'spread');
  if (cpu) head.push('CPU µs/request');
  const body = rows.map(({ target, result: r }) => {
    if (r.skipped) return [target, `skipped: ${r.skipped}`, ...head.slice(2).map(() => '')];
    const row = [target, rps(r.reqPerSecMean), ms(r.p50), ms(r.p99), bad(r), cores(r.otherCores)];
    if (rounds) row.splice(2, 0, (r.rounds ?? []).map(rps).join(' / '), pct(r.spread));
    if (cpu) row.push(typeof r.cpuUsPerRequest === 'number' ? r.cpuUsPerRequest.toFixed(1) : 'n/a');
    return row;
  });
  return markdownTable(head, body);
}

const pct = (v) => (v === null || v === undefined ? 'n/a' : `${(v * 100).toFixed(1)}%`);

function markdownTable(head, body) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const ok = (rows, t) => rows?.find((x) => x.target === t && !x.result.skipped)?.result;
const fmtRatio = (v) => (v === null ? 'n/a' : `${v.toFixed(2)}×`);
const fmtDelta = (v) => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms`);

function p99Delta(rows, target = 'veer') {
  const d = ok(rows, 'direct');
  const v = ok(rows, target);
  return d && v && d.p99 !== null && v.p99 !== null ? v.p99 - d.p99 : null;
}

/**
 * A side-by-side pair's median against `target` (a ratio at least that passes; n/a when not run); with a null
 * target, an information row.
 */
function sideRow(side, name, a, b, target = 0.9) {
  const r = side?.find((x) => x.pair[0] === a && x.pair[1] === b && !x.skipped);
  const v = r ? r.median : null;
  if (target === null) return { name, shown: fmtRatio(v), target: '(info)', status: 'info' };
  const status = v === null ? 'n/a' : v >= target ? 'PASS' : 'MISS';
  return { name, shown: fmtRatio(v), target: `≥ ${target.toFixed(2)}×`, status };
}

/**
 * Rounds of one target further apart than this ((max − min) / median) read the host as much as the proxy: a
 * ratio of two such medians, or of their spreads, may pass or miss by which minute each round fell in.
 */
const NOISY_SPREAD = 0.2;

/**
 * The brief's three targets, each PASS, MISS, n/a (an input is missing) or noisy (an interleaved figure whose
 * rounds spread over NOISY_SPREAD: the side-by-side rows are the ones to read then), plus information rows.
 */
export function checks({ sat, fixed, side = null }) {
  const ratio = (a, b) => (a && b && b.reqPerSecMean > 0 ? a.reqPerSecMean / b.reqPerSecMean : null);
  const veer = ok(sat, 'veer');
  const proxies = sat.filter((x) => x.target !== 'direct' && !x.result.skipped).map((x) => x.result);
  const fastest = proxies.length ? proxies.reduce((a, b) => (a.reqPerSecMean >= b.reqPerSecMean ? a : b)) : null;
  const headroom = ratio(ok(sat, 'direct'), fastest);
  const loadBusy = fastest?.loadCoreBusy ?? null;
  const [bare, httpProxy] = [ok(sat, 'bare'), ok(sat, 'http-proxy')];
  const spreads = [veer?.spread ?? null, bare?.spread ?? null];
  const spreadGap = spreads.includes(null) || spreads[0] === undefined ? null : spreads[0] - spreads[1];
  const paced = p99Delta(fixed?.paced);
  const ltsPaced = p99Delta(fixed?.paced, 'veer-lts');
  const judge = (v, pass) => (v === null ? 'n/a' : pass(v) ? 'PASS' : 'MISS');
  const row = (name, v, shown, target, pass, from = []) => {
    const loud = v !== null && from.some((r) => (r?.spread ?? 0) > NOISY_SPREAD);
    return { name, shown, target, status: loud ? 'noisy' : judge(v, pass) };
  };
  const vsBare = ratio(veer, bare);
  const vsHttpProxy = ratio(veer, httpProxy);
  const noLogVsBare = ratio(ok(sat, 'veer-nolog'), bare);
  const vsNginx = ratio(veer, ok(sat, 'nginx'));
  const ltsVsBare = ratio(ok(sat, 'veer-lts'), ok(sat, 'bare-lts'));
  const ltsVsVeer = ratio(ok(sat, 'veer-lts'), veer);
  return [
    row('generator headroom: direct / fastest proxy', headroom, fmtRatio(headroom), '≥ 2.00×', (v) => v >= 2),
    // The same question asked of the load core itself: busy below 90% in the fastest proxy's median round, the
    // generator (with the upstreams on its core) was waiting on the proxy, not the other way round.
    row('generator core busy, fastest proxy', loadBusy, pct(loadBusy), '< 90%', (v) => v < 0.9),
    row('veer / bare undici proxy req/s', vsBare, fmtRatio(vsBare), '≥ 0.90×', (v) => v >= 0.9, [veer, bare]),
    sideRow(side, 'veer / bare, side by side on one core', 'veer', 'bare'),
    row('veer / http-proxy req/s', vsHttpProxy, fmtRatio(vsHttpProxy), '≥ 2.20×', (v) => v >= 2.2, [veer, httpProxy]),
    sideRow(side, 'veer / http-proxy, side by side on one core', 'veer', 'http-proxy', 2.2),
    sideRow(side, 'veer / http-proxy as shipped (no agent), side by side', 'veer', 'http-proxy-shipped', null),
    sideRow(side, 'TCP relay, no HTTP (the floor) / http-proxy, side by side', 'relay', 'http-proxy', null),
    sideRow(side, 'veer / TCP relay, side by side', 'veer', 'relay', null),
    sideRow(side, 'lean front (no node:http) / bare, side by side', 'lean', 'bare', null),
    sideRow(side, "veer on node:http's front (proxy.front node) / bare, side by side", 'veer-node', 'bare', null),
    sideRow(side, "veer / veer on node:http's front, side by side", 'veer', 'veer-node', null),
    { name: 'veer without its access log / bare', shown: fmtRatio(noLogVsBare), target: '(info)', status: 'info' },
    { name: 'veer / nginx req/s (per core)', shown: fmtRatio(vsNginx), target: '(info)', status: 'info' },
    row('spread veer − spread bare', spreadGap, pct(spreadGap), '≤ 0', (v) => v <= 0),
    row('Node LTS: veer / bare undici proxy req/s', ltsVsBare, fmtRatio(ltsVsBare), '≥ 0.90×', (v) => v >= 0.9, [
      ok(sat, 'veer-lts'),
      ok(sat, 'bare-lts'),
    ]),
    sideRow(side, 'Node LTS: veer / bare, side by side', 'veer-lts', 'bare-lts'),
    { name: 'veer on Node LTS / veer on this Node', shown: fmtRatio(ltsVsVeer), target: '(info)', status: 'info' },
    row('paced p99 veer − direct (¼ of saturation)', paced, fmtDelta(paced), '≤ 1 ms', (v) => v <= 1),
    row('paced p99 veer-lts − direct (same rate)', ltsPaced, fmtDelta(ltsPaced), '≤ 1 ms', (v) => v <= 1),
    ...['veer-node', 'bare', 'nginx', 'relay', 'node-hello'].map((t) => {
      const v = p99Delta(fixed?.paced, t);
      return { name: `paced p99 ${t} − direct (same rate)`, shown: fmtDelta(v), target: '(info)', status: 'info' };
    }),
  ];
}

/**
 * When a proxy gets close to what CPU 0 (load generator + upstream) manages with no proxy at all,
 * its number measures CPU 0, not the proxy.
 */
function bottleneckNotes(sat) {
  const direct = ok(sat, 'direct');
  if (!direct) return ['direct was not measured: cannot tell whether the upstream side is the bottleneck.'];
  const notes = [];
  for (const { target, result } of sat) {
    if (target === 'direct' || result.skipped) continue;
    const share = result.reqPerSecMean / direct.reqPerSecMean;
    const verdict =
      share >= 0.9
        ? 'the upstream/load-generator side may be the bottleneck'
        : 'the proxy is the bottleneck, not the upstream';
    notes.push(`${target}: ${(share * 100).toFixed(0)}% of direct req/s — ${verdict}.`);
  }
  return notes;
}

function disturbanceNote(all) {
  const worst = Math.max(0, ...all.filter((r) => !r.skipped && r.otherCores !== null).map((r) => r.otherCores));
  return worst >= DISTURBED_CORES
    ? `Other processes kept up to ${worst.toFixed(2)} cores busy during a measurement: ` +
        'those rows are disturbed and not comparable; rerun on a quiet machine.'
    : `Other processes stayed below ${DISTURBED_CORES} cores during every measurement.`;
}

function fixedBlock(fixed) {
  if (!fixed) return ['Fixed-rate pass: not run (veer was not measured).'];
  return [
    `Fixed rate: ${rps(fixed.rate)} req/s (1/4 of veer's saturation req/s), same connections and duration,`,
    pacedHow(fixed),
    '',
    resultTable('paced', fixed.paced),
    '',
    ...cpuLines(fixed.paced),
    `p99 of each round (ms): ${fixed.paced.map(({ target, result: r }) => `${target} ${roundsOf(r)}`).join('; ')}.`,
    '',
    ...haltingLines(fixed.halting),
    latenessLine(ok(fixed.paced, 'veer')?.lateness),
    '',
    loopDelayLine(ok(fixed.paced, 'veer')?.loopDelay),
    '',
    gapsLine(fixed.gaps),
  ];
}

/** What the paced table's CPU column and its node-hello row are, and a blank line; none without the column. */
function cpuLines(paced) {
  if (!paced.some(({ result: r }) => typeof r.cpuUsPerRequest === 'number')) return [];
  return [
    "CPU µs/request: the CPU time (user + system) of the target's processes over the measured phase, per request " +
      '(median of the rounds; none for direct). node-hello: node:http answering by itself on the proxy core ' +
      '(bench/upstream.mjs), one socket per request and no upstream hop. relay: bench/relay.mjs, bytes copied to ' +
      'and from the upstream with no HTTP, the least a Node proxy does.',
    '',
  ];
}

const roundsOf = (r) => (r.p99s ?? []).map(ms).join(' / ');

function pacedHow(fixed) {
  const wrk = fixed.paced.some(({ result: r }) => r.generator === 'wrk-paced');
  const how = wrk
    ? 'wrk paces the requests on one even schedule, the next slot to whichever connection is free (bench/wrk-paced.lua)'
    : 'requests spread evenly (1 ms ticks) over the connections (bench/paced.mjs)';
  const awake = fixed.awake
    ? "; the proxy's core is kept from halting by a SCHED_IDLE spinner for every target (bench/awake.mjs)"
    : '';
  const jit = `; each target is first loaded at saturation for ${JIT_WARMUP_S} s, so that V8's tiering is done`;
  return `${how}${awake}${jit}.`;
}

/** The round with the proxy core free to halt: what this host's idle CPUs add to every proxy's tail. */
function haltingLines(halting) {
  const done = (halting ?? []).filter(({ result: r }) => !r.skipped && r.p99 !== null);
  if (done.length === 0) return [];
  const list = done.map(({ target, result: r }) => `${target} ${ms(r.p99)} ms (p99.9 ${ms(r.p999)})`).join(', ');
  return [`One round with the proxy's core free to halt, p99: ${list}.`, ''];
}

function gapsLine(g) {
  if (!g) return "The proxy core's own stalls: not measured.";
  return (
    `The proxy core's own stalls (bench/cpu-gaps.mjs, a spinner alone on it for ${g.seconds} s): ${g.gaps} gaps over ` +
    `0.2 ms, ${g.over1ms} over 1 ms, ${g.over3ms} over 3 ms, longest ${ms(g.maxMs)} ms, ${ms(g.lostMs)} ms lost in all.`
  );
}

function loopDelayLine(d) {
  if (!d) return "veer's event loop delay: not read";
  return (
    `veer's last complete 10 s window of loop delay when the pass ended (it begins with veer's start-up and the ` +
    `warm-up when the run is short): p50 ${ms(d['0.5'])} ms, p99 ${ms(d['0.99'])} ms, p99.9 ${ms(d['0.999'])} ms, ` +
    `max ${ms(d['1'])} ms`
  );
}

/** The measured phase only (bench/lateness.mjs): bucket bounds, so each quantile reads "at most". */
function latenessLine(l) {
  if (!l) return "veer's event loop over the measured phase: not read";
  const bound = (x) => (x === Infinity ? 'over 10 s' : `≤ ${ms(x)} ms`);
  const later = l.laterThan.map(({ ms: t, share }) => `${(share * 100).toFixed(2)}% over ${t} ms`).join(', ');
  return (
    `veer's event loop during the paced pass's measured phase (its ${l.samples} samples of a 10 ms timer): ` +
    `p50 ${bound(l.p50UpToMs)}, p99 ${bound(l.p99UpToMs)}, p99.9 ${bound(l.p999UpToMs)}, max ${bound(l.maxUpToMs)}; ` +
    `late ${later}`
  );
}

/** { text, markdown } for the console and RESULTS.md. */
export function render({ settings, machine, startedAt, partial, sat, fixed, workers = [], side = null }) {
  const list = checks({ sat, fixed, side });
  const all = [...sat, ...(fixed?.paced ?? [])].map((r) => r.result);
  const body = [
    resultTable('target (saturation)', sat),
    '',
    ...sideBySideBlock(side),
    '',
    ...fixedBlock(fixed),
    '',
    ...(workers.length ? [...workers, ''] : []),
    markdownTable(
      ['check', 'value', 'target', 'result'],
      list.map((c) => [c.name, c.shown, c.target, c.status]),
    ),
    '',
    'Bottleneck check (CPU 0 runs the load generator and the upstreams; direct is its ceiling):',
    ...bottleneckNotes(sat).map((n) => `- ${n}`),
    `- ${disturbanceNote(all)}`,
  ];
  const header = [
    `Run: ${new Date(startedAt).toISOString()}${partial ? ` (partial: ${partial})` : ''}`,
    `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memGiB} GiB, ` +
      `node ${machine.node}, ${machine.nginx}, ${machine.kernel}`,
  ];
  const markdown = ['## Proxy benchmark', '', ...[...header, ...settings].map((x) => `- ${x}`), '', ...body].join('\n');
  return { text: [...header, '', ...body].join('\n'), markdown };
}

/** Replace only the text between the markers (creating the file or the markers when missing). */
export function writeResults(file, section) {
  const block = `${START}\n${section.trim()}\n${END}`;
  const old = existsSync(file) ? readFileSync(file, 'utf8') : INTRO;
  const s = old.indexOf(START);
  const e = s === -1 ? -1 : old.indexOf(END, s);
  const next =
    s !== -1 && e !== -1
      ? old.slice(0, s) + block + old.slice(e + END.length)
      : `${old.replace(/\n*$/, '\n\n')}${block}\n`;
  writeFileSync(file, next);
}
