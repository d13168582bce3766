// `npm run bench:docker`: what a Docker rollout costs. veer runs in this process (compiled dist/)
// on a selector pool of test-app containers; a paced 200 req/s of GETs goes through it while image
// rollouts run, and the events veer records give each phase's duration. Then how fast the pool
// follows a container started or killed behind veer's back. Everything is on 127.0.0.1; every
// container carries veer.test=1 and this run's veer.bench label, and is removed by that label.
import { randomUUID } from 'node:crypto';
import Docker from 'dockerode';
import { Pool } from 'undici';
import { parseConfigObject } from '../dist/config/load.js';
import { silentLogger } from '../dist/domain/log.js';
import { startVeer } from '../dist/main.js';
import { machineLine, table, writeSection } from './sections.mjs';
import { adminCall } from './net.mjs';

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3) || 3);
const RATE = 200;
const RUN = `bench-${randomUUID().slice(0, 8)}`;
const LABELS = { 'veer.test': '1', 'veer.bench': RUN };
const POLICY = { steps: [25, 100], stepInterval: '2s', analysisInterval: '500ms', minRequests: 50 };
const TERMINAL = ['succeeded', 'rolled-back', 'aborted'];
const engine = new Docker();
const veers = new Set();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, timeoutMs, intervalMs, probe) {
  const until = performance.now() + timeoutMs;
  while (performance.now() < until) {
    const v = await probe().catch(() => null);
    if (v !== null && v !== undefined && v !== false) return v;
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

async function runApp(app, hostConfig = {}) {
  const c = await engine.createContainer({
    Image: 'veer-test-app:1',
    Env: ['PORT=8080'],
    Labels: { app, ...LABELS },
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { ...hostConfig, PortBindings: { '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  await c.start();
  const startedAt = performance.now();
  const port = Number((await c.inspect()).NetworkSettings.Ports['8080/tcp']?.[0]?.HostPort);
  return { id: c.id, port, startedAt };
}

const byLabel = (label) => engine.listContainers({ all: true, filters: { label: [label, 'veer.test=1'] } });

async function removeByLabel(label) {
  const list = await byLabel(label).catch(() => []);
  // 404/409: already gone or being removed (AutoRemove, veer's own removal).
  await Promise.all(
    list.map((c) =>
      engine
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => {}),
    ),
  );
}

async function openVeer(app) {
  const cfg = parseConfigObject(
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      state: { store: 'memory' },
      docker: { owner: RUN },
      services: [
        {
          name: 'web',
          stable: { docker: { selector: { app }, port: 8080 } },
          rollout: { ...POLICY, healthTimeout: '30s' },
        },
      ],
    },
    {},
  );
  if (!cfg.ok) throw cfg.error;
  const running = await startVeer(cfg.value, { log: silentLogger });
  veers.add(running);
  return { running, url: `http://127.0.0.1:${running.data.port}`, admin: `http://127.0.0.1:${running.admin.port}` };
}

async function closeVeer(v) {
  veers.delete(v.running);
  await v.running.close();
}

const admin = (v, method, path, body) => adminCall(v.admin, method, path, body);

const stableIds = async (v) => (await admin(v, 'GET', '/v1/services/web')).body.pools.stable.targets.map((t) => t.id);

// Paced open-loop load: due requests go out on a 1 ms catch-up ticker; at most 64 in flight, so a
// stalled proxy shows up as `skipped` instead of an unbounded pile of sockets.
function startLoad(url) {
  const pool = new Pool(url, { connections: 16, pipelining: 1, headersTimeout: 5_000, bodyTimeout: 5_000 });
  const s = { sent: 0, failures: 0, skipped: 0, counting: false };
  const inflight = new Set();
  let stop = false;
  const loop = (async () => {
    const t0 = performance.now();
    let due = 0;
    while (!stop) {
      const target = Math.floor(((performance.now() - t0) / 1000) * RATE);
      for (; due < target; due++) {
        if (inflight.size >= 64) {
          s.skipped++;
          continue;
        }
        s.sent++;
        const counted = s.counting;
        const p = pool.request({ path: '/', method: 'GET' }).then(
          async (r) => {
            await r.body.dump();
            if (r.statusCode >= 500 && counted) s.failures++;
          },
          () => void (counted && s.failures++),
        );
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await sleep(1);
    }
    await Promise.allSettled([...inflight]);
    await pool.close();
  })();
  return { s, stop: () => ((stop = true), loop.then(() => s)) };
}

async function eventTimes(v, rolloutId) {
  const { events } = (await admin(v, 'GET', '/v1/services/web/events?limit=200')).body;
  const at = {};
  for (const e of events) if (e.rolloutId === rolloutId && !(e.kind in at)) at[e.kind] = Date.parse(e.at);
  return at;
}

const CANARIES = {
  good: { image: 'veer-test-app:2' },
  health: { image: 'veer-test-app:health' },
  bad: { image: 'veer-test-app:2', env: ['ERROR_RATE=0.3'] },
};

/** POSTs the rollout under load and waits (bounded) for its end; the load counts from just before the POST. */
async function rolloutUnderLoad(v, canary) {
  const load = startLoad(v.url);
  try {
    await sleep(1_000); // connections warm, stable metrics non-empty
    load.s.counting = true;
    const posted = Date.now();
    const started = await admin(v, 'POST', '/v1/services/web/rollouts', { canary });
    if (started.status !== 201) throw new Error(`rollout refused: ${started.status} ${JSON.stringify(started.body)}`);
    const done = await waitFor('a terminal phase', 120_000, 100, async () => {
      const r = (await admin(v, 'GET', '/v1/services/web')).body.rollout;
      return TERMINAL.includes(r?.phase) ? r : null;
    });
    await sleep(1_500); // requests in flight at the end still count
    load.s.counting = false;
    return { posted, id: started.body.id, done, traffic: await load.stop() };
  } finally {
    await load.stop();
  }
}

/** One image rollout on 2 fresh stable containers; seconds between its milestones and what the clients saw. */
async function rollout(kind, i) {
  const app = `${RUN}-${kind}-${i}`;
  const stable = [];
  for (let n = 0; n < 2; n++) stable.push(await runApp(app, { RestartPolicy: { Name: 'always' } }));
  const v = await openVeer(app);
  try {
    await waitFor('stable pool of 2', 15_000, 50, async () => (await stableIds(v)).length === 2);
    const { posted, id, done, traffic } = await rolloutUnderLoad(v, CANARIES[kind]);
    const at = await eventTimes(v, id);
    const isOld = (c) => stable.some((s) => s.id === c.Id);
    const left = await byLabel(`app=${app}`);
    const sec = (a, b) => (a !== undefined && b !== undefined ? (b - a) / 1000 : null);
    return {
      phase: done.phase,
      reason: done.reason,
      ready: sec(posted, at['canary-ready']),
      shifting: sec(at['canary-ready'], at.promoting),
      removing: sec(at.promoting, at.succeeded),
      total: sec(posted, at.succeeded),
      toRolledBack: sec(posted, at['rolled-back']),
      failures: traffic.failures,
      sent: traffic.sent,
      skipped: traffic.skipped,
      oldLeft: left.filter(isOld).length,
      canariesLeft: left.filter((c) => !isOld(c)).length,
    };
  } finally {
    await closeVeer(v);
    await removeByLabel(`app=${app}`);
  }
}

/** ms from the engine's answer to start (kill) until veer's stable pool lists (drops) the container. */
async function membership(i) {
  const app = `${RUN}-member-${i}`;
  await runApp(app);
  const v = await openVeer(app);
  try {
    await waitFor('stable pool of 1', 15_000, 50, async () => (await stableIds(v)).length === 1);
    const baseIds = await stableIds(v);
    const extra = await runApp(app);
    const isExtra = (ids) => ids.some((id) => !baseIds.includes(id));
    await waitFor('the new container in the pool', 10_000, 20, async () => isExtra(await stableIds(v)));
    const joinMs = performance.now() - extra.startedAt;
    await engine.getContainer(extra.id).kill();
    const killedAt = performance.now();
    await waitFor('the killed container to leave the pool', 10_000, 20, async () => !isExtra(await stableIds(v)));
    return { joinMs, leaveMs: performance.now() - killedAt };
  } finally {
    await closeVeer(v);
    await removeByLabel(`app=${app}`);
  }
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null).sort((a, b) => a - b);
  if (s.length === 0) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const max = (xs) => (xs.some((x) => x !== null) ? Math.max(...xs.filter((x) => x !== null)) : null);
const fmt = (x, digits) => (x === null ? 'n/a' : x.toFixed(digits));
const row = (label, xs, digits, target = '') => [label, fmt(median(xs), digits), fmt(max(xs), digits), target];
const col = (rs, k) => rs.map((r) => r[k]);
const mark = (ok) => (ok ? 'PASS' : 'MISS');

async function measure() {
  const r = { good: [], health: [], bad: [], member: [] };
  for (const kind of ['good', 'health', 'bad']) {
    for (let i = 1; i <= ROUNDS; i++) {
      const x = await rollout(kind, i);
      console.log(`${kind} #${i}: ${JSON.stringify(x)}`);
      r[kind].push(x);
    }
  }
  for (let i = 1; i <= ROUNDS; i++) {
    const x = await membership(i);
    console.log(`membership #${i}: join ${x.joinMs.toFixed(0)} ms, leave ${x.leaveMs.toFixed(0)} ms`);
    r.member.push(x);
  }
  return r;
}

function render(r) {
  const { good, health, bad, member } = r;
  const allGood = [...good, ...health];
  const promoted = allGood.every((x) => x.phase === 'succeeded');
  const noOld = allGood.every((x) => x.oldLeft === 0);
  const zero = allGood.every((x) => x.failures === 0);
  const rolledBack = bad.every((x) => x.phase === 'rolled-back' && x.canariesLeft === 0 && x.oldLeft === 2);
  // A `\` ending a line of the template continues that line: the text has no line break there.
  return `## Docker rollouts (\`npm run bench:docker\`)

${new Date().toISOString().slice(0, 10)} on ${machineLine()}, one local Docker engine. \
${ROUNDS} rounds per row; median and max.
veer runs in the bench process (dist/main.js) with the service's stable pool \
\`docker: { selector: { app }, port: 8080 }\` over
2 containers of veer-test-app:1 (RestartPolicy always, published on 127.0.0.1). \
A paced ${RATE} req/s of GETs goes through veer
(undici Pool, 16 keep-alive connections, loopback) from 1 s before the rollout's POST until 1.5 s after it ends. Policy:
steps [25, 100], stepInterval 2 s, analysisInterval 500 ms, minRequests 50 \
(drainTimeout 30 s default, healthTimeout 30 s).
Phase boundaries come from veer's events (\`GET /v1/services/web/events\`); \
"POST" is the client's clock just before the request.
A client-visible failure is a status ≥ 500 or a network error.

${table(
  ['figure', 'median', 'max', 'target'],
  [
    row(
      'good (veer-test-app:2): s POST → canary-ready (clone 2 containers, start, health-gate)',
      col(good, 'ready'),
      2,
    ),
    row('good: s canary-ready → promoting (steps 25 % and 100 %, judged)', col(good, 'shifting'), 2),
    row('good: s promoting → succeeded (drain, restart policy no, stop, remove 2 old)', col(good, 'removing'), 2),
    row('good: s POST → succeeded (total)', col(good, 'total'), 2),
    row('good: client-visible failures over the rollout', col(good, 'failures'), 0, '0'),
    row('health (veer-test-app:health, Docker HEALTHCHECK gate): s POST → canary-ready', col(health, 'ready'), 2),
    row('health: s POST → succeeded (total)', col(health, 'total'), 2),
    row('health: client-visible failures', col(health, 'failures'), 0, '0'),
    row('bad (veer-test-app:2, ERROR_RATE=0.3): s POST → rolled-back', col(bad, 'toRolledBack'), 2),
    row('bad: client-visible failures (blast radius)', col(bad, 'failures'), 0),
    row("membership: ms engine start answer → in veer's stable pool", col(member, 'joinMs'), 0),
    row("membership: ms engine kill answer → out of veer's stable pool", col(member, 'leaveMs'), 0),
  ],
)}

Checks over all rounds: good and health rollouts succeeded ${mark(promoted)}; \
no old container left after promotion ${mark(noOld)};
0 client-visible failures during good rollouts ${mark(zero)} \
(${allGood.map((x) => x.failures).join(', ')}); bad rollouts rolled back with
their canaries removed and both stable containers kept ${mark(rolledBack)}. \
Requests skipped by the 64-in-flight cap: ${[...allGood, ...bad].map((x) => x.skipped).join(', ')}.
Membership: the pool is read through the admin API every 20 ms \
from right after the engine's answer, so the figures carry up to
~20 ms of polling granularity; \
a figure of a few ms means the first read already showed the change (veer follows the engine's
event stream, whose \`start\`/\`die\` events can arrive before the API call that caused them returns).
Rolled-back reason (round 1): ${bad[0]?.reason ?? 'n/a'}
`;
}

let cleaning = null;
function cleanup() {
  cleaning ??= (async () => {
    await Promise.allSettled([...veers].map((v) => v.close()));
    await removeByLabel(`veer.bench=${RUN}`);
  })();
  return cleaning;
}
process.on('SIGINT', () => {
  const hard = setTimeout(() => process.exit(130), 20_000);
  hard.unref();
  void cleanup().finally(() => process.exit(130));
});

try {
  await Promise.race([
    engine.ping(),
    sleep(5_000).then(() => Promise.reject(new Error('no Docker engine answered within 5 s'))),
  ]);
  const body = render(await measure());
  writeSection('docker', body);
  console.log(body);
} finally {
  await cleanup();
}
