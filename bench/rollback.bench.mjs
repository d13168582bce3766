// `npm run bench:rollback`: at a steady 300 req/s of GETs through veer, start a rollout whose canary
// answers 20% 5xx (first step 5%), and measure the seconds from the rollout's start until the canary
// weight is 0, and how many client requests failed (the blast radius) — without and with
// retryCanaryOnStable. Everything runs on 127.0.0.1; every child is stopped by pid.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { machineLine, table, writeSection } from './sections.mjs';
import { freePort } from './net.mjs';

const RATE = 300;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const children = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

function firstJsonLine(child, timeoutMs = 10_000) {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('child did not report its port in time')), timeoutMs);
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        resolve(JSON.parse(buf.slice(0, nl)));
      }
    });
  });
}

async function waitReady(url, timeoutMs = 15_000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await sleep(100);
  }
  throw new Error(`not ready: ${url}`);
}

async function run(retry) {
  const stable = start('node', [path.join(ROOT, 'bench/flaky-upstream.mjs')], { ERROR_RATE: '0' });
  const canary = start('node', [path.join(ROOT, 'bench/flaky-upstream.mjs')], { ERROR_RATE: '0.2' });
  const [s, c] = [await firstJsonLine(stable), await firstJsonLine(canary)];
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veer-rollback-'));
  const port = await freePort();
  const adminPort = await freePort();
  const cfg = path.join(dir, 'proxy.config.yaml');
  writeFileSync(
    cfg,
    `listen: 127.0.0.1:${port}
admin: { listen: 127.0.0.1:${adminPort} }
state: { store: memory }
services:
  - name: web
    stable: { targets: ["127.0.0.1:${s.port}"] }
    rollout: { retryCanaryOnStable: ${retry} }
`,
  );
  const veer = start('node', [path.join(ROOT, 'dist/cli.js'), 'start', '-c', cfg]);
  const admin = `http://127.0.0.1:${adminPort}`;
  await waitReady(`${admin}/readyz`);
  const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 32, pipelining: 1 });
  let failures = 0;
  let sent = 0;
  let counting = false;
  let stop = false;
  const load = (async () => {
    const t0 = performance.now();
    const inflight = new Set();
    while (!stop) {
      const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
      while (sent < due && !stop) {
        sent++;
        const p = pool.request({ path: '/', method: 'GET' }).then(
          async (r) => {
            await r.body.dump();
            if (r.statusCode >= 500 && counting) failures++;
          },
          () => {
            if (counting) failures++;
          },
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await sleep(1);
    }
    await Promise.allSettled([...inflight]);
  })();
  await sleep(3000); // warm up at steady load
  counting = true;
  const startedAt = performance.now();
  const res = await fetch(`${admin}/v1/services/web/rollouts`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ canary: { targets: [`127.0.0.1:${c.port}`] } }),
  });
  if (res.status !== 201) throw new Error(`rollout refused: ${res.status} ${await res.text()}`);
  let toZero = null;
  let reason = null;
  let sawCanary = false;
  while (performance.now() - startedAt < 60_000) {
    const st = await (await fetch(`${admin}/v1/services/web`)).json();
    if (st.weight > 0) sawCanary = true;
    if (sawCanary && st.weight === 0 && toZero === null) {
      toZero = (performance.now() - startedAt) / 1000;
      reason = st.rollout?.reason ?? null;
      break;
    }
    await sleep(50);
  }
  await sleep(2000); // requests in flight at the switch still count
  counting = false;
  stop = true;
  await load;
  await pool.close();
  const phase = (await (await fetch(`${admin}/v1/services/web`)).json()).rollout?.phase;
  for (const ch of [veer, stable, canary]) ch.kill('SIGTERM');
  await sleep(300);
  rmSync(dir, { recursive: true, force: true });
  return { retry, toZero, failures, phase, reason };
}

const cleanup = () => {
  for (const ch of children) ch.kill('SIGKILL');
};
process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});
try {
  const rows = [];
  for (const retry of [false, true]) {
    const r = await run(retry);
    console.log(
      `retryCanaryOnStable=${retry}: weight 0 after ${r.toZero?.toFixed(2) ?? 'never'} s, ` +
        `${r.failures} client-visible failures, phase ${r.phase}`,
    );
    rows.push(r);
  }
  const [plain, retried] = rows;
  const mark = (ok) => (ok ? 'PASS' : 'MISS');
  const within8s = plain.toZero !== null && plain.toZero <= 8 && retried.toZero !== null && retried.toZero <= 8;
  // A `\` ending a line of the template continues that line: the text has no line break there.
  const body = `## Rollback blast radius (\`npm run bench:rollback\`)

${new Date().toISOString().slice(0, 10)} on ${machineLine()}. \
Steady ${RATE} req/s of GETs through veer (paced, 32 keep-alive
connections), canary answering 20% 503, default policy \
(first step 5%, analysisInterval 2 s, minRequests 200, failureLimit 2,
confidence 0.99). Failures are client-visible 5xx or network errors from the rollout's start until 2 s after weight 0.

${table(
  ['retryCanaryOnStable', 'seconds to weight 0', 'client-visible failures', 'final phase'],
  rows.map((r) => [String(r.retry), r.toZero?.toFixed(2) ?? 'never', String(r.failures), r.phase ?? 'n/a']),
)}

Reason recorded: ${plain.reason ?? 'n/a'}

Targets: weight 0 within 8 s: ${mark(within8s)}; ≤ 30 failures without retry: ${mark(plain.failures <= 30)};
≤ 3 with retryCanaryOnStable: ${mark(retried.failures <= 3)}. \
For comparison, Flagger's defaults (60 s analysis interval) would leave the
same canary at 5% for at least a minute: about 300 req/s × 5% × 20% × 60 s ≈ 180 failed requests.
`;
  writeSection('rollback', body);
  console.log(body);
} finally {
  cleanup();
}
