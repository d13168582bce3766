// `npm run bench:rollback`: at a steady 300 req/s of GETs through veer, start a rollout whose canary
// answers 20% 5xx (first step 5%), and measure the seconds from the rollout's start until the canary
// weight is 0, and how many client requests failed (the blast radius): without and with
// retryCanaryOnStable, and with two replicas sharing a Redis store (the load split between them, the
// leader judging their merged seconds). Everything runs on 127.0.0.1; every child is stopped by pid.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Pool } from 'undici';
import { HOST, adminCall, freePort, pollUntil } from './net.mjs';
import {
  installExitHandlers,
  onCleanup,
  runBench,
  sleep,
  startChild,
  stopChild,
  waitForJsonLine,
  wasInterrupted,
} from './procs.mjs';
import { startRedis } from './redis-server.mjs';
import { machineLine, table, writeSection } from './sections.mjs';

const RATE = 300;
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// BENCH_VEER_DIST measures another build (a before/after comparison), as bench:redis does.
const DIST = path.resolve(ROOT, process.env.BENCH_VEER_DIST || 'dist');

async function upstream(name, errorRate) {
  const child = startChild(name, process.execPath, [path.join(ROOT, 'bench/flaky-upstream.mjs')], {
    env: { ERROR_RATE: String(errorRate) },
  });
  const { port } = await waitForJsonLine(child, (v) => typeof v.port === 'number', 10_000);
  return { port, child };
}

/** One veer replica; its access log goes to a file (read by this bench it would cost the bench's CPU). */
async function replica(dir, name, { stablePort, retry, state }) {
  const [port, adminPort] = [await freePort(), await freePort()];
  const cfg = path.join(dir, `${name}.yaml`);
  writeFileSync(
    cfg,
    `listen: ${HOST}:${port}
admin: { listen: ${HOST}:${adminPort} }
state: ${state}
services:
  - name: web
    stable: { targets: ["${HOST}:${stablePort}"] }
    rollout: { retryCanaryOnStable: ${retry} }
`,
  );
  const out = openSync(path.join(dir, `${name}.log`), 'a');
  let child;
  try {
    child = startChild(name, process.execPath, [path.join(DIST, 'cli.js'), 'start', '-c', cfg], { stdoutFd: out });
  } finally {
    closeSync(out);
  }
  const ready = await pollUntil(adminPort, '/readyz', (st) => st === 200, {
    attempts: 150,
    alive: () => !child.exited,
  });
  if (!ready.ok) throw new Error(`${name} did not become ready (${ready.reason})`);
  return { port, admin: `http://${HOST}:${adminPort}`, child };
}

const service = async (r) => (await adminCall(r.admin, 'GET', '/v1/services/web', undefined, 5_000)).body;
const weightOf = async (r) => (await service(r)).weight;

/** `replicas`: 1 on the memory store, or 2 sharing a private redis-server (requests alternate between them). */
async function run({ retry, replicas }) {
  const stable = await upstream('stable', 0);
  const canary = await upstream('canary', 0.2);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veer-rollback-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const redis = replicas > 1 ? await startRedis() : null;
  const state = redis ? `{ store: redis, redis: "${redis.url}" }` : '{ store: memory }';
  const veers = [];
  for (let i = 0; i < replicas; i++)
    veers.push(await replica(dir, `veer${i}`, { stablePort: stable.port, retry, state }));
  const pools = veers.map((v) => new Pool(`http://${HOST}:${v.port}`, { connections: 32, pipelining: 1 }));
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
        const pool = pools[sent++ % pools.length];
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
  const res = await adminCall(veers[0].admin, 'POST', '/v1/services/web/rollouts', {
    canary: { targets: [`${HOST}:${canary.port}`] },
  });
  if (res.status !== 201) throw new Error(`rollout refused: ${res.status} ${JSON.stringify(res.body)}`);
  // Weight 0 counts once every replica routes it (a follower hears it through the store).
  let toZero = null;
  let sawCanary = false;
  while (performance.now() - startedAt < 60_000) {
    const weights = await Promise.all(veers.map(weightOf));
    if (weights.some((w) => w > 0)) sawCanary = true;
    if (sawCanary && weights.every((w) => w === 0)) {
      toZero = (performance.now() - startedAt) / 1000;
      break;
    }
    await sleep(50);
  }
  await sleep(2000); // requests in flight at the switch still count
  counting = false;
  stop = true;
  await load;
  await Promise.all(pools.map((p) => p.close()));
  const rollout = (await service(veers[0])).rollout;
  for (const ch of [...veers.map((v) => v.child), stable.child, canary.child, ...(redis ? [redis.child] : [])])
    await stopChild(ch, 5_000);
  return { retry, replicas, toZero, failures, phase: rollout?.phase, reason: rollout?.reason ?? null };
}

// BENCH_ROLLBACK_REPLICAS=1 or 2: only the runs with that many replicas, printed and not written to RESULTS.md.
const ONLY = process.env.BENCH_ROLLBACK_REPLICAS ? Number(process.env.BENCH_ROLLBACK_REPLICAS) : null;
const RUNS = [
  { retry: false, replicas: 1 },
  { retry: true, replicas: 1 },
  { retry: false, replicas: 2 },
];

// The two-replica run needs redis-server (Debian's redis-server package); without it that row says so.
const hasRedis = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' }).status === 0;

async function main() {
  installExitHandlers();
  if (!hasRedis) console.log('redis-server not found: the run with 2 replicas is skipped');
  const rows = [];
  for (const r of RUNS.filter((x) => (ONLY === null || x.replicas === ONLY) && (x.replicas === 1 || hasRedis))) {
    const out = await run(r);
    const zero = out.toZero?.toFixed(2) ?? 'never';
    console.log(
      `replicas=${out.replicas} retryCanaryOnStable=${out.retry}: weight 0 after ${zero} s, ` +
        `${out.failures} client-visible failures, phase ${out.phase}`,
    );
    rows.push(out);
  }
  if (ONLY !== null || wasInterrupted()) return;
  const [plain, retried, shared] = rows;
  const mark = (ok) => (ok === undefined ? 'not run' : ok ? 'PASS' : 'MISS'); // undefined: not run
  const within8s = (r) => r.toZero !== null && r.toZero <= 8;
  const [sharedFast, sharedFew] = [shared && within8s(shared), shared && shared.failures <= 30];
  // A `\` ending a line of the template continues that line: the text has no line break there.
  const body = `## Rollback blast radius (\`npm run bench:rollback\`)

${new Date().toISOString().slice(0, 10)} on ${machineLine()}. \
Steady ${RATE} req/s of GETs through veer (paced, 32 keep-alive
connections per replica), canary answering 20% 503, default policy \
(first step 5%, analysisInterval 2 s, minRequests 200, failureLimit 2,
confidence 0.99). Failures are client-visible 5xx or network errors from the rollout's start until 2 s after weight 0.
With 2 replicas they share a redis-server, requests alternate between them, and weight 0 is when both route it.

${table(
  ['replicas', 'retryCanaryOnStable', 'seconds to weight 0', 'client-visible failures', 'final phase'],
  rows.map((r) => [
    r.replicas === 1 ? '1 (memory store)' : `${r.replicas} (redis store)`,
    String(r.retry),
    r.toZero?.toFixed(2) ?? 'never',
    String(r.failures),
    r.phase ?? 'n/a',
  ]),
)}

Reason recorded: ${plain.reason ?? 'n/a'}

Targets: weight 0 within 8 s: ${mark(within8s(plain) && within8s(retried))} (2 replicas: ${mark(sharedFast)}); \
≤ 30 failures without retry: ${mark(plain.failures <= 30)} (2 replicas: ${mark(sharedFew)});
≤ 3 with retryCanaryOnStable: ${mark(retried.failures <= 3)}. \
For comparison, Flagger's defaults (60 s analysis interval) would leave the
same canary at 5% for at least a minute: about 300 req/s × 5% × 20% × 60 s ≈ 180 failed requests.
`;
  writeSection('rollback', body);
  console.log(body);
}

runBench(main);
