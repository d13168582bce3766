// Tables, target checks and the RESULTS.md section. Pure formatting apart from writeResults().
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { DISTURBED_CORES } from './cpu.mjs';

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
  const head = [firstHead, 'req/s (mean)', 'p50 ms', 'p99 ms', 'errors/non-2xx', 'other procs, cores'];
  const body = rows.map(({ target, result: r }) =>
    r.skipped
      ? [target, `skipped: ${r.skipped}`, '', '', '', '']
      : [target, rps(r.reqPerSecMean), ms(r.p50), ms(r.p99), bad(r), cores(r.otherCores)],
  );
  return markdownTable(head, body);
}

function markdownTable(head, body) {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => String(row[i]).length)));
  const line = (cells) => `| ${cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const ok = (rows, t) => rows?.find((x) => x.target === t && !x.result.skipped)?.result;
const fmtRatio = (v) => (v === null ? 'n/a' : `${v.toFixed(2)}×`);
const fmtDelta = (v) => (v === null ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(2)} ms`);

function p99Delta(rows) {
  const d = ok(rows, 'direct');
  const v = ok(rows, 'veer');
  return d && v && d.p99 !== null && v.p99 !== null ? v.p99 - d.p99 : null;
}

/** The brief's three targets, each PASS, MISS or n/a (an input is missing), plus information rows. */
export function checks({ sat, fixed }) {
  const ratio = (a, b) => (a && b && b.reqPerSecMean > 0 ? a.reqPerSecMean / b.reqPerSecMean : null);
  const vsHttpProxy = ratio(ok(sat, 'veer'), ok(sat, 'http-proxy'));
  const vsNginx = ratio(ok(sat, 'veer'), ok(sat, 'nginx'));
  const paced = p99Delta(fixed?.paced);
  const burst = p99Delta(fixed?.autocannon);
  const judge = (v, pass) => (v === null ? 'n/a' : pass(v) ? 'PASS' : 'MISS');
  return [
    {
      name: 'veer / http-proxy req/s',
      shown: fmtRatio(vsHttpProxy),
      target: '≥ 1.80×',
      status: judge(vsHttpProxy, (v) => v >= 1.8),
    },
    {
      name: 'veer / nginx req/s',
      shown: fmtRatio(vsNginx),
      target: '≥ 0.45×',
      status: judge(vsNginx, (v) => v >= 0.45),
    },
    {
      name: 'fixed-rate p99 veer − direct (paced)',
      shown: fmtDelta(paced),
      target: '≤ 2 ms',
      status: judge(paced, (v) => v <= 2),
    },
    {
      name: 'same, autocannon overallRate (bursty, info)',
      shown: fmtDelta(burst),
      target: '(≤ 2 ms)',
      status: judge(burst, (v) => v <= 2),
    },
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
    `Fixed rate: ${rps(fixed.rate)} req/s (1/4 of veer's saturation req/s), same connections and duration.`,
    'Paced = requests spread evenly (1 ms ticks) over the connections; autocannon overallRate spends each',
    "connection's per-second quota back-to-back at the top of each second, i.e. bursts at saturation.",
    '',
    resultTable('paced', fixed.paced),
    '',
    resultTable('autocannon overallRate', fixed.autocannon),
  ];
}

/** { text, markdown } for the console and RESULTS.md. */
export function render({ settings, machine, startedAt, partial, sat, fixed }) {
  const list = checks({ sat, fixed });
  const all = [...sat, ...(fixed?.paced ?? []), ...(fixed?.autocannon ?? [])].map((r) => r.result);
  const body = [
    resultTable('target (saturation)', sat),
    '',
    ...fixedBlock(fixed),
    '',
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
