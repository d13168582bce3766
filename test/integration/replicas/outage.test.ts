// Three veer replicas (separate processes) when Redis goes away: the data planes keep routing with
// the last table and nobody's clients see an error, /readyz says "degraded" (200), the rollout holds,
// and everything carries on when Redis is back.
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../../src/api/ports.js';
import { errorMessage } from '../../../src/domain/errors.js';
import { isTerminal } from '../../../src/domain/rollout.js';
import { exited, freePort, hasExited, spawnTracked, stopChild, waitFor, withTimeout } from '../../helpers/process.js';
import { ping, type RedisHandle } from '../../helpers/redis.js';
import { between, startTraffic, trouble, type Traffic, type TrafficReport } from '../../helpers/traffic.js';
import { type TestUpstream } from '../../helpers/upstream.js';
import { http, service } from '../../helpers/veer.js';
import {
  POLICY,
  allOwnEvents,
  freshPrefix,
  postJson,
  startReplicas,
  status,
  waitForLeader,
  type Replica,
} from './harness.js';
import { useReplicaSuite } from './suite.js';

const suite = useReplicaSuite();
const upstream = suite.upstream;

function traffic(r: Replica, rps: number): Traffic {
  const t = startTraffic({ url: r.dataUrl, rps, maxMs: 60_000, timeoutMs: 5_000 });
  suite.track(t);
  return t;
}

async function readyz(
  r: Replica,
): Promise<{ code: number; body: { ready: boolean; status: string; checks: Record<string, string> } }> {
  const res = await http(`${r.adminUrl}/readyz`, { timeoutMs: 2_000 });
  return {
    code: res.status,
    body: JSON.parse(res.text) as { ready: boolean; status: string; checks: Record<string, string> },
  };
}

const rolloutOf = async (r: Replica): Promise<NonNullable<ServiceStatus['rollout']>> => {
  const ro = (await status(r)).rollout;
  if (ro === null) throw new Error(`${r.name} has no rollout`);
  return ro;
};

/**
 * A redis-server with an append-only file fsynced on every write, so a SIGKILL loses nothing: the
 * outage alone, without the data loss of the helper's restart (which comes back empty).
 */
async function startPersistentRedis(): Promise<RedisHandle> {
  const dir = await mkdtemp(join(tmpdir(), 'veer-redis-aof-'));
  const port = await freePort();
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'yes',
    '--appendfsync',
    'always',
    '--dir',
    dir,
    '--daemonize',
    'no',
  ];
  const launch = async (): Promise<ChildProcess> => {
    const c = spawnTracked('redis-server', args);
    await waitFor(() => ping(port, 500), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: `persistent redis-server on ${port}`,
    });
    return c;
  };
  let child = await launch();
  const kill9 = async (): Promise<void> => {
    if (hasExited(child)) return;
    const gone = exited(child);
    child.kill('SIGKILL');
    await withTimeout(gone, 5_000, 'redis-server to die after SIGKILL');
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid ?? -1;
    },
    kill9,
    stop: async () => {
      await stopChild(child, 3_000);
      await rm(dir, { recursive: true, force: true });
    },
    restart: async () => {
      await kill9();
      child = await launch();
    },
  };
}

/** Requests each replica serves during the outage: at 100 req/s about 3 s, three step intervals. */
const SERVED_WHILE_DOWN = 300;

/**
 * Traffic on all three replicas, a rollout at its first step, then Redis killed with SIGKILL until
 * every replica has served SERVED_WHILE_DOWN requests without it (about 3 s) and restarted (by
 * `store`): checks everything during the outage, returns once it is back.
 */
async function outage(
  store: RedisHandle,
  rs: readonly Replica[],
  canary: TestUpstream,
): Promise<{ id: string; loads: Traffic[]; marks: string }> {
  const leader = await waitForLeader(rs);
  const loads = rs.map((r) => traffic(r, 100));
  // When each stage began, in ms of the traffic: a failure's `sentAt` is read against these.
  const marks: string[] = [];
  const mark = (what: string): void => void marks.push(`${what} ${loads[0]?.snapshot().elapsedMs ?? -1}`);
  await waitFor(() => loads.every((t) => t.snapshot().completed >= 50), { timeoutMs: 5_000, what: 'warm-up traffic' });
  mark('rollout posted');
  const started = await postJson<{ id: string }>(`${leader.adminUrl}/v1/services/web/rollouts`, {
    canary: { targets: [canary.address] },
  });
  expect(started.status, JSON.stringify(started.json)).toBe(201);
  // Every replica routes the canary's 10% before Redis goes.
  await waitFor(
    async () =>
      (await Promise.all(rs.map(status))).every((s) => s.weight === 10 && s.pools.canary.targets.length === 1),
    { timeoutMs: 3_000, what: 'the first step on every replica' },
  );
  const atKill = await Promise.all(rs.map(rolloutOf));

  mark('Redis killed');
  await store.kill9();
  const down = loads.map((t) => t.snapshot());
  for (const r of rs) {
    await waitFor(async () => (await readyz(r)).body.status === 'degraded', {
      timeoutMs: 5_000,
      intervalMs: 50,
      what: `${r.name} /readyz degraded`,
    });
    const rz = await readyz(r);
    expect(rz.code, r.name).toBe(200);
    expect(rz.body).toMatchObject({ ready: true, status: 'degraded', checks: { store: 'degraded', dataplane: 'ok' } });
  }
  // The outage lasts as long as the replicas take to serve that much without Redis: the time that
  // passes is measured in requests served (and would-be steps skipped), not guessed.
  await waitFor(
    () => loads.every((t, i) => between(down[i] as TrafficReport, t.snapshot()).completed >= SERVED_WHILE_DOWN),
    {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: `every replica to serve ${SERVED_WHILE_DOWN} requests while Redis is down`,
    },
  );
  const upAgain = loads.map((t) => t.snapshot());
  mark('outage checked');
  for (const [i, r] of rs.entries()) {
    const during = between(down[i] as TrafficReport, upAgain[i] as TrafficReport);
    expect(during.completed, `${r.name} served while Redis was down`).toBeGreaterThanOrEqual(SERVED_WHILE_DOWN);
    expect(during.failures, `${r.name}: ${trouble(during)}`).toBe(0);
    // The last table: still the rollout's split, both pools.
    expect(during.byUpstream.canary ?? 0, r.name).toBeGreaterThan(0);
    expect(during.byUpstream.stable ?? 0, r.name).toBeGreaterThan(0);
    // The controller holds: no step was taken without Redis.
    const ro = await rolloutOf(r);
    expect(ro.phase, r.name).toBe('progressing');
    expect(ro.step, r.name).toBe(atKill[i]?.step);
  }

  mark('Redis restarting');
  await store.restart();
  mark('Redis up');
  const back = Date.now();
  for (const r of rs)
    await waitFor(async () => (await readyz(r)).body.status === 'ok', {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: `${r.name} /readyz ok again`,
    });
  const downMs = (upAgain[0]?.elapsedMs ?? 0) - (down[0]?.elapsedMs ?? 0);
  console.info(`[replicas] Redis down ${downMs} ms; every /readyz ok ${Date.now() - back} ms after the restart`);
  mark('every /readyz ok');
  console.info(`[replicas] stages, ms of traffic: ${marks.join(', ')}`);
  return { id: started.json.id, loads, marks: marks.join(', ') };
}

/** The rollout started before the outage ends `succeeded` everywhere, steps neither repeated nor skipped. */
async function finishes(
  rs: readonly Replica[],
  id: string,
  canary: TestUpstream,
  loads: Traffic[],
  marks: string,
): Promise<void> {
  await waitFor(async () => (await Promise.all(rs.map(rolloutOf))).every((ro) => isTerminal(ro.phase)), {
    timeoutMs: 25_000,
    intervalMs: 200,
    what: 'the rollout to end after Redis came back',
  }).catch(async (e: unknown) => {
    const where = (await Promise.all(rs.map(rolloutOf))).map(
      (ro, i) => `${rs[i]?.name}: ${ro.phase} step ${ro.step} updated ${ro.updatedAt}`,
    );
    throw new Error(`${errorMessage(e)} (${where.join('; ')})`);
  });
  const reports = await Promise.all(loads.map((t) => t.stop()));
  for (const r of rs) {
    const s = await status(r);
    expect(s.rollout?.id, r.name).toBe(id);
    expect(s.rollout?.phase, r.name).toBe('succeeded');
    expect(
      s.pools.stable.targets.map((t) => t.id),
      r.name,
    ).toEqual([canary.address]);
    expect(s.weight, r.name).toBe(0);
  }
  const steps = (await allOwnEvents(rs)).filter((e) => e.kind === 'step').map((e) => e.weight);
  expect(steps).toEqual([30, 50]);
  for (const [i, rep] of reports.entries())
    expect(rep.failures, `${rs[i]?.name}: ${trouble(rep)}; stages: ${marks}`).toBe(0);
}

describe('a Redis outage under load', () => {
  it('clients see no error while Redis is down, /readyz is degraded, the rollout finishes once it is up', async () => {
    const store = await startPersistentRedis();
    suite.track(store);
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const rs = await startReplicas({
      redisUrl: store.url,
      prefix: freshPrefix('outage'),
      services: [service('web', [stable.address], [], { rollout: POLICY })],
    });
    const { id, loads, marks } = await outage(store, rs, canary);
    await finishes(rs, id, canary, loads, marks);
  }, 90_000);

  // A Redis that comes back *empty* (restarted without persistence, as test/helpers/redis.ts restart()
  // does): the leader writes its rollout state back (fenced) and the routing books re-put their records.
  it('the rollout also finishes when Redis comes back empty (restarted without persistence)', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const rs = await startReplicas({
      redisUrl: suite.redis.url,
      prefix: freshPrefix('empty'),
      services: [service('web', [stable.address], [], { rollout: POLICY })],
    });
    const { id, loads, marks } = await outage(suite.redis, rs, canary);
    await finishes(rs, id, canary, loads, marks);
  }, 90_000);
});
