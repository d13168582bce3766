#!/usr/bin/env node
// `npm run bench:tls`: veer against the Node ceiling (bench/bare-tls-proxy.mjs) and nginx over TLS with the
// same certificate, in one run: HTTPS keep-alive req/s (h2load --h1), new-connection rate (openssl s_time
// -new: one full handshake and one request per connection) and HTTP/2 req/s (h2load); prints ratios and
// rewrites the tls section of bench/RESULTS.md with the machine line. Load stays on 127.0.0.1.
// Env: BENCH_DURATION (s, 8), BENCH_CONNECTIONS (32), BENCH_STREAMS (h2 streams per connection, 10),
// BENCH_ROUNDS (interleaved rounds, 3).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, HOST } from './net.mjs';
import { findNginx, nginxVersion, startNginx } from './nginx.mjs';
import {
  installExitHandlers,
  onCleanup,
  runBench,
  startChild,
  stopChild,
  tasksetPath,
  waitForJsonLine,
} from './procs.mjs';
import { median } from './median.mjs';
import { machineLine, table, writeSection } from './sections.mjs';
import { startUpstream } from './targets.mjs';
import { startVeer } from './veer.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const num = (name, def) => {
  const v = process.env[name] ? Number(process.env[name]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number, got "${process.env[name]}"`);
  return v;
};
const s = {
  durationS: num('BENCH_DURATION', 8),
  connections: num('BENCH_CONNECTIONS', 32),
  streams: num('BENCH_STREAMS', 10),
  rounds: num('BENCH_ROUNDS', 3),
};
const pin = Boolean(tasksetPath) && os.cpus().length >= 2;
const LOAD_CPU = pin ? 0 : undefined;
const PROXY_CPU = pin ? 1 : undefined;

/** Runs a load tool (pinned with the load generator), bounded by the measurement's own length. */
function run(cmd, args) {
  const [file, argv] = pin ? [tasksetPath, ['-c', String(LOAD_CPU), cmd, ...args]] : [cmd, args];
  return new Promise((resolve, reject) =>
    execFile(file, argv, { timeout: (s.durationS + 60) * 1000, maxBuffer: 1 << 20 }, (e, out, err) =>
      e ? reject(new Error(`${cmd} failed: ${e.message}\n${err}`)) : resolve(out),
    ),
  );
}

async function h2load(port, h1) {
  const args = ['-c', String(s.connections), '-D', String(s.durationS), '--warm-up-time', '2'];
  const proto = h1 ? ['--h1', '-m', '1'] : ['-m', String(s.streams)];
  const out = await run('h2load', [...args, ...proto, `https://${HOST}:${port}/`]);
  const rate = /finished in [\d.]+s, ([\d.]+) req\/s/.exec(out);
  const codes = /status codes: \d+ 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  const reqs = /requests: \d+ total, \d+ started, \d+ done, \d+ succeeded, (\d+) failed, (\d+) errored/.exec(out);
  if (!rate || !reqs || !codes) throw new Error(`h2load output not understood:\n${out}`);
  // Failures are h2load's own and every answer that is not 2xx. Not "total − 2xx": with a warm-up h2load
  // counts the two over different spans (seen: 18 "failed" in a run where h2load itself reported 0).
  const failed = [...reqs.slice(1), ...codes.slice(1)].reduce((n, x) => n + Number(x), 0);
  return { perSec: Number(rate[1]), failed };
}

async function handshakes(port) {
  const out = await run('openssl', [
    's_time',
    '-connect',
    `${HOST}:${port}`,
    '-new',
    '-time',
    String(s.durationS),
    '-www',
    '/',
  ]);
  const m = /(\d+) connections in (\d+) real seconds/.exec(out);
  if (!m) throw new Error(`openssl s_time output not understood:\n${out}`);
  return { perSec: Number(m[1]) / Math.max(1, Number(m[2])), failed: 0 };
}

async function measureAll(port) {
  return { h1: await h2load(port, true), handshake: await handshakes(port), h2: await h2load(port, false) };
}

function certificate(dir) {
  const [cert, key] = [path.join(dir, 'bench.pem'), path.join(dir, 'bench.key')];
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'].concat([
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost',
    ]),
    { stdio: 'ignore', timeout: 20_000 },
  );
  return { cert, key };
}

async function main() {
  installExitHandlers();
  const nginxBin = findNginx();
  if (!nginxBin) throw new Error('nginx is not installed (apt-get install -y nginx)');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veer-bench-tls-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const { cert, key } = certificate(dir);
  const a = await startUpstream('A', LOAD_CPU);
  const b = await startUpstream('B', LOAD_CPU);
  const veerTls = await freePort();
  // The default certificate: the load tools connect to 127.0.0.1 and send no server name.
  const extra =
    `tls:\n  listen: ${HOST}:${veerTls}\n` +
    `  defaultCertificate: { cert: ${cert}, key: ${key} }\n  redirect: false\n`;
  const veer = await startVeer(path.resolve(here, '..'), {
    upstreamA: a.port,
    upstreamB: b.port,
    cpu: PROXY_CPU,
    extra,
  });
  const bareArgs = [path.join(here, 'bare-tls-proxy.mjs'), String(a.port), cert, key];
  const bare = startChild('bare-tls', process.execPath, bareArgs, { cpu: PROXY_CPU });
  const { port: barePort } = await waitForJsonLine(bare, (v) => typeof v.port === 'number', 10_000);
  const nginxTls = await freePort();
  const nginx = await startNginx(nginxBin, {
    upstreamA: a.port,
    upstreamB: b.port,
    cpu: PROXY_CPU,
    tls: { port: nginxTls, cert, key },
  });
  // All three stay up (idle when not measured); the rounds interleave them, so the host's drift is shared.
  const ports = { veer: veerTls, bare: barePort, nginx: nginxTls };
  const rounds = { veer: [], bare: [], nginx: [] };
  for (let r = 1; r <= s.rounds; r++)
    for (const name of Object.keys(ports)) {
      console.log(`round ${r}: ${name}...`);
      rounds[name].push(await measureAll(ports[name]));
    }
  await Promise.all([veer.stop(), stopChild(bare), nginx.stop()]);
  report(rounds, nginxVersion(nginxBin));
}

/** Each measure's median over the rounds, the ratios of the medians, and veer / bare round by round. */
function report(r, nginx) {
  const mid = (name, k) => median(r[name].map((x) => x[k].perSec));
  const failedOf = (name, k) => r[name].reduce((n, x) => n + x[k].failed, 0);
  const row = (label, k) => {
    const [v, b, n] = ['veer', 'bare', 'nginx'].map((name) => mid(name, k));
    const failed = ['veer', 'bare', 'nginx'].map((name) => failedOf(name, k));
    const note = failed.some((f) => f > 0) ? ` (failed: veer ${failed[0]}, bare ${failed[1]}, nginx ${failed[2]})` : '';
    const each = r.veer.map((x, i) => (x[k].perSec / r.bare[i][k].perSec).toFixed(2)).join(' / ');
    return [label, ...[v, b, n].map((x) => x.toFixed(0)), (v / b).toFixed(2), `${(v / n).toFixed(2)}${note}`, each];
  };
  const rows = [
    row(`HTTPS keep-alive req/s (h2load --h1, ${s.connections} connections)`, 'h1'),
    row('new connections/s (openssl s_time -new, one request each)', 'handshake'),
    row(`HTTP/2 req/s (h2load, ${s.connections} connections × ${s.streams} streams)`, 'h2'),
  ];
  const body = [
    '## TLS and HTTP/2 (`npm run bench:tls`)',
    '',
    `Machine: ${machineLine()}; ${nginx}; ${new Date().toISOString().slice(0, 10)}`,
    `Each pass ${s.durationS} s on 127.0.0.1, same ECDSA P-256 certificate, same upstreams ` +
      '(A weight 9 / B weight 1 for nginx; ' +
      'veer: weight 10 with its sticky cookie, as in the proxy benchmark). ' +
      (pin ? 'Proxy on CPU 1; load tools and upstreams on CPU 0.' : 'No CPU pinning.') +
      ' bare: bench/bare-tls-proxy.mjs, the Node ceiling (one TLS listener, node:http or HTTP/2 streams by ALPN, ' +
      "undici's dispatch to A and nothing else). Failures are h2load's own plus every answer that is not 2xx.",
    '',
    `${s.rounds} interleaved rounds (veer, bare, nginx in turn, all three up throughout); each figure is the ` +
      'median round.',
    '',
    table(['measure', 'veer', 'bare', 'nginx', 'veer / bare', 'veer / nginx', 'veer / bare each round'], rows),
  ].join('\n');
  console.log(`\n${body}`);
  writeSection('tls', body);
}

runBench(main);
