// Three veer replicas (separate processes) sharing one redis-server: a manual shift made through one
// replica's admin API reaches the other replicas' data planes by push, within 200 ms, and every replica agrees
// on who is in the cluster and who leads (also as `veer status` prints it).
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../../helpers/process.js';
import { http, service } from '../../helpers/veer.js';
import { POLICY, ROOT, cluster, freshPrefix, postJson, startReplicas, status, type Replica } from './harness.js';
import { useReplicaSuite } from './suite.js';
import { CLI_ENTRY } from '../../helpers/cli-entry.js';
import { REREAD_MS } from '../../../src/rollout/record-feed.js';
import { median } from '../../../bench/median.mjs';

/**
 * The bound on how long a routing change may take to reach every replica. It is read on the median of the
 * ten sightings (five shifts, two replicas): a change pushed through Redis meets it with room on a loaded machine,
 * while one that waited for the fallback re-read (every REREAD_MS, at any phase) would read about half of that
 * period. One sighting a loaded machine delays (313 ms seen beside a busy loop) is not the mechanism failing,
 * so each sighting alone is held to the re-read period only.
 */
const PROPAGATION_MS = 200;

const suite = useReplicaSuite();
const upstream = suite.upstream;

interface Seen {
  /** ms after the shift request returned until the admin API reported the weight. */
  adminMs: number;
  /** ms after the shift request returned until a real request was routed to the expected pool. */
  dataMs: number;
}

/**
 * Polls a replica's admin weight and its data plane, concurrently, until both show the new split;
 * a side that never does within 3 s counts as Infinity (the assertion then names the round).
 */
async function seen(r: Replica, weight: number, pool: string, since: number): Promise<Seen> {
  const poll = (what: string, probe: () => Promise<boolean>): Promise<number> =>
    waitFor(probe, { timeoutMs: Math.max(1, since + 3_000 - performance.now()), intervalMs: 2, what }).then(
      () => performance.now() - since,
      () => Number.POSITIVE_INFINITY,
    );
  const [adminMs, dataMs] = await Promise.all([
    poll(`${r.name} admin weight ${weight}`, async () => (await status(r)).weight === weight),
    poll(
      `${r.name} routing to ${pool}`,
      async () => (await http(r.dataUrl, { timeoutMs: 1_000 })).headers['x-upstream'] === pool,
    ),
  ]);
  return { adminMs, dataMs };
}

describe('routing shared by three replicas', () => {
  it('a shift through replica A reaches B and C by push: 200 ms at the median, never past a re-read', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const [a, b, c] = (await startReplicas({
      redisUrl: suite.redis.url,
      prefix: freshPrefix('route'),
      services: [service('web', [stable.address], [canary.address], { rollout: POLICY })],
    })) as [Replica, Replica, Replica];
    for (const r of [a, b, c]) expect((await http(r.dataUrl)).headers['x-upstream']).toBe('stable');

    // 100% and 0% make every single request a witness of the split: no sampling needed.
    const sightings: Seen[] = [];
    const rounds: string[] = [];
    for (const weight of [100, 0, 100, 0, 100]) {
      const pool = weight === 100 ? 'canary' : 'stable';
      const shifted = await postJson<{ weight: number }>(`${a.adminUrl}/v1/services/web/shift`, { weight });
      const returned = performance.now();
      expect(shifted.status, JSON.stringify(shifted.json)).toBe(200);
      expect(shifted.json.weight).toBe(weight);
      const [onB, onC] = await Promise.all([seen(b, weight, pool, returned), seen(c, weight, pool, returned)]);
      sightings.push(onB, onC);
      const ms = (n: number): string => n.toFixed(0);
      rounds.push(
        `${weight}%: B admin ${ms(onB.adminMs)} data ${ms(onB.dataMs)}, ` +
          `C admin ${ms(onC.adminMs)} data ${ms(onC.dataMs)} ms`,
      );
      // Once there, it stays there: a later re-read must not bring an older table back.
      for (const r of [a, b, c]) {
        for (let i = 0; i < 5; i++)
          expect((await http(r.dataUrl)).headers['x-upstream'], `${r.name} after ${weight}%`).toBe(pool);
      }
    }
    console.info(`[replicas] shift propagation (after the shift returned): ${rounds.join('; ')}`);
    for (const side of ['adminMs', 'dataMs'] as const) {
      const ms = sightings.map((x) => x[side]).sort((x, y) => x - y);
      expect(median(ms), `${side} median (the lower middle)\n${rounds.join('\n')}`).toBeLessThanOrEqual(PROPAGATION_MS);
      expect(ms.at(-1), `${side} worst\n${rounds.join('\n')}`).toBeLessThanOrEqual(REREAD_MS);
    }
  }, 60_000);
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function veerCli(args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI_ENTRY, ...args],
      { cwd: ROOT, env, timeout: 20_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      },
    );
  });
}

describe('cluster view', () => {
  it('every replica lists all three and names the same leader; `veer status` shows the replicas', async () => {
    const stable = await upstream('stable');
    const rs = await startReplicas({
      redisUrl: suite.redis.url,
      prefix: freshPrefix('view'),
      services: [service('web', [stable.address], [], { rollout: POLICY })],
    });
    const ids = rs.map((r) => r.id).sort();
    expect(new Set(ids).size).toBe(3);

    // The view is refreshed from Redis once a second: wait (bounded) until every replica has seen all.
    const views = await waitFor(
      async () => {
        const vs = await Promise.all(rs.map((r) => cluster(r)));
        const agreed = vs.every((v) => v.replicas.length === 3 && v.leader !== null && v.leader === vs[0]?.leader);
        return agreed ? vs : null;
      },
      { timeoutMs: 6_000, intervalMs: 100, what: 'every replica to list all three and name one leader' },
    );
    const leader = views[0]?.leader ?? null;
    expect(leader).not.toBeNull();
    expect(ids).toContain(leader);
    for (const [i, v] of views.entries()) {
      const r = rs[i] as Replica;
      expect(v.self).toBe(r.id);
      expect(v.leader, `leader according to ${r.name}`).toBe(leader);
      expect(v.replicas.map((x) => x.id).sort()).toEqual(ids);
      for (const x of v.replicas) {
        expect(Date.now() - Date.parse(x.seenAt)).toBeLessThan(5_000);
        expect(x.adminUrl).toBe(rs.find((y) => y.id === x.id)?.adminUrl);
      }
    }

    const short = (id: string): string => id.slice(0, 8);
    const follower = rs.find((r) => r.id !== leader) as Replica;
    const out = await veerCli(['status', '--admin', follower.adminUrl]);
    expect(out.code, out.stderr).toBe(0);
    expect(out.stdout).toContain('replicas: 3');
    for (const id of ids) expect(out.stdout).toContain(id === leader ? `${short(id)}*` : short(id));
    expect(out.stdout).toContain(`leader ${short(leader as string)}`);
    expect(out.stdout).not.toContain('(this one)');
    const leading = rs.find((r) => r.id === leader) as Replica;
    const onLeader = await veerCli(['status', '--admin', leading.adminUrl]);
    expect(onLeader.code, onLeader.stderr).toBe(0);
    expect(onLeader.stdout).toContain(`leader ${short(leader as string)} (this one)`);
    // The services table is there too, the same on every replica.
    expect((await status(follower)).pools.stable.targets.map((t) => t.id)).toEqual([stable.address]);
  }, 60_000);
});
