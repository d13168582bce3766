// A stale leader: the leading replica is frozen with SIGSTOP past its lease, another replica takes
// over, and the old one is thawed with SIGCONT while the rollout is still running. It must not write
// anything any more: no events, no rollout or routing state — checked on Redis's own MONITOR feed,
// with each write attributed to the process owning the client socket, not to what replicas report.
import { describe, expect, it } from 'vitest';
import type { ClusterView } from '../../../src/api/ports.js';
import { isTerminal } from '../../../src/domain/rollout.js';
import { stateKey } from '../../../src/store/keys.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { service } from '../../helpers/veer.js';
import {
  LEASE_TTL_MS,
  POLICY,
  cluster,
  clusterAsked,
  freshPrefix,
  ownEvents,
  postJson,
  startReplicas,
  status,
  waitForLeader,
  type Replica,
} from './harness.js';
import { useReplicaSuite } from './suite.js';
import { clientPortsOf, hashWrites, monitor, portOf } from './redis-watch.js';

const suite = useReplicaSuite();
const upstream = suite.upstream;

const terminal = async (r: Replica): Promise<boolean> => {
  const ro = (await status(r)).rollout;
  return ro !== null && isTerminal(ro.phase);
};

/** The replica that leads now and has analysed the rollout at least once, if there is one. */
async function drivingReplica(rs: readonly Replica[]): Promise<Replica | undefined> {
  for (const r of rs) {
    if ((await cluster(r)).leader !== r.id) continue;
    if ((await ownEvents(r)).some((e) => e.kind === 'analysis')) return r;
  }
  return undefined;
}

/** Who each replica says leads, its rollout's phase and its own last events: what a failed wait leaves to read. */
async function replicaStates(rs: readonly Replica[]): Promise<string> {
  const one = async (r: Replica): Promise<string> => {
    const [view, st, own] = await Promise.all([cluster(r), status(r), ownEvents(r)]);
    const last = own.slice(-4).map((e) => `${e.kind}: ${e.message}`);
    const leader = view.leader === r.id ? 'itself' : String(view.leader);
    return `${r.name} (leader ${leader}, ${st.rollout?.phase}): ${last.join(' | ')}`;
  };
  return (await Promise.all(rs.map((r) => one(r).catch((e: unknown) => `${r.name}: ${String(e)}`)))).join('; ');
}

describe('a stale leader', () => {
  it('SIGSTOPped past its lease, then SIGCONT: it writes nothing and no longer calls itself leader', async () => {
    const stable = await upstream('stable');
    const canary = await upstream('canary');
    const prefix = freshPrefix('stale');
    const rs = await startReplicas({
      redisUrl: suite.redis.url,
      prefix,
      services: [service('web', [stable.address], [], { rollout: POLICY })],
    });
    const firstLeader = await waitForLeader(rs);
    const loads = new Map(rs.map((r) => [r, startTraffic({ url: r.dataUrl, rps: 100, maxMs: 60_000 })]));
    for (const l of loads.values()) suite.track(l);
    await waitFor(() => [...loads.values()].every((t) => t.snapshot().completed >= 50), {
      timeoutMs: 5_000,
      what: 'warm-up traffic',
    });
    // Started through a replica that does not lead: the API forwards it.
    const viaFollower = rs.find((r) => r !== firstLeader);
    const started = await postJson<{ id: string }>(`${viaFollower?.adminUrl}/v1/services/web/rollouts`, {
      canary: { targets: [canary.address] },
    });
    expect(started.status, JSON.stringify(started.json)).toBe(201);
    // Frozen while it is really driving the rollout: it leads and has analysed at least once, timers armed.
    // Asked of every replica: on a busy machine the lease may change hands before the first analysis.
    const old = await waitFor(() => drivingReplica(rs), {
      timeoutMs: 10_000,
      intervalMs: 50,
      what: 'a first analysis by the leader',
    }).catch(async (e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; replicas: ${await replicaStates(rs)}`);
    });
    const others = rs.filter((r) => r !== old);

    const mon = await monitor(suite.redis.port);
    suite.track(mon);
    const before = await ownEvents(old);
    await loads.get(old)?.stop();
    old.signal('SIGSTOP');
    const stoppedAt = Date.now();
    const next = await waitForLeader(others, 10_000);
    const takeoverMs = Date.now() - stoppedAt;
    expect(takeoverMs).toBeLessThanOrEqual(LEASE_TTL_MS + 1_000);
    expect((await status(next)).rollout?.phase, 'still running when the old leader wakes up').toBe('progressing');

    // Thawed at once: the new leader has barely started, which is when a stale write would land.
    const oldPorts = await clientPortsOf(old.pid, suite.redis.port);
    // The first question is already waiting when it wakes up: the answer it gives before anything
    // else (a request sent after SIGCONT may or may not be overtaken by its view refresh).
    const first = clusterAsked(old);
    await first.sent;
    const resumedAt = Date.now();
    old.signal('SIGCONT');
    const views: ClusterView[] = [await first.view];
    // Asked again and again until the new leader has finished the rollout: the whole time a stale
    // write could still land, not a guessed stretch of it.
    await waitFor(
      async () => {
        views.push(await cluster(old));
        return (await Promise.all(rs.map(terminal))).every(Boolean);
      },
      { timeoutMs: 25_000, intervalMs: 50, what: 'the rollout to end on every replica' },
    );
    expect(views.length, 'views of the woken replica while the rollout ran on').toBeGreaterThan(5);
    for (const p of await clientPortsOf(old.pid, suite.redis.port)) oldPorts.add(p);
    const nextPorts = await clientPortsOf(next.pid, suite.redis.port);
    mon.stop();

    // What Redis saw after the resume, each write attributed to the process owning its socket.
    expect(oldPorts.size, 'the old leader has connections to Redis').toBeGreaterThan(0);
    // Acknowledgements of routing (ack/…) are every replica's own record, leader or not: not counted.
    const writes = hashWrites(mon.lines).filter(
      (w) => w.at >= resumedAt && w.key.startsWith(stateKey(prefix, '')) && !w.key.startsWith(stateKey(prefix, 'ack/')),
    );
    const rolloutWrites = writes.filter((w) => w.key === stateKey(prefix, 'rollout/web'));
    const byOld = writes
      .filter((w) => oldPorts.has(portOf(w.client)))
      .map((w) => `${w.key.slice(w.key.indexOf(':state:') + 1)} at +${Math.round(w.at - resumedAt)} ms`);
    const scripted = (l: { args: string[] }): boolean => ['eval', 'evalsha'].includes((l.args[0] ?? '').toLowerCase());
    const attempts = mon.lines.filter(
      (l) =>
        l.at >= resumedAt &&
        oldPorts.has(portOf(l.client)) &&
        scripted(l) &&
        l.args.includes(stateKey(prefix, 'rollout/web')),
    ).length;
    const after = await ownEvents(old);
    const late = after
      .filter((e) => Date.parse(e.at) >= resumedAt)
      .map((e) => `${e.kind} +${Date.parse(e.at) - resumedAt} ms: ${e.message}`);
    const named = views.map((v) => (v.leader === old.id ? 'itself' : v.leader === next.id ? 'new' : String(v.leader)));
    const byNext = rolloutWrites.filter((w) => nextPorts.has(portOf(w.client))).length;
    console.info(
      `[replicas] stale leader ${old.name}: ${next.name} leads ${takeoverMs} ms after SIGSTOP; ` +
        `after SIGCONT: ${attempts} rollout write attempt(s) by it, ${byOld.length} state write(s) by it applied; ` +
        `${byNext} rollout writes by the new leader; its /v1/cluster named: ${named.slice(0, 4).join(',')}…`,
    );

    // Soft, so one run reports every broken property at once.
    // A woken stale leader must not name itself (only the live lease may say "me")…
    expect
      .soft(
        named.filter((n) => n === 'itself'),
        `its answers: ${named.join(',')}`,
      )
      .toEqual([]);
    // …and nothing it had in flight may land: leader-driven writes carry the token of the tenure they
    // began in and are fenced, so Redis refuses them once a newer token exists.
    expect.soft(late, late.join('\n')).toEqual([]);
    // Events it appended since `before` was read are its last acts before the stop (stopping its traffic takes a
    // moment, and a loaded host fits a step in it: 3 against 2 once): each stamped at append, so none after the stop.
    const known = new Set(before.map((e) => e.seq));
    const sinceStop = after.filter((e) => !known.has(e.seq) && Date.parse(e.at) > stoppedAt);
    expect.soft(sinceStop.map((e) => `${e.kind} at ${e.at}: ${e.message}`)).toEqual([]);
    expect.soft(byOld, byOld.join(', ')).toEqual([]);
    // The rollout state only advanced through the new leader.
    expect(rolloutWrites.length).toBeGreaterThan(0);
    expect.soft(rolloutWrites.filter((w) => !nextPorts.has(portOf(w.client))).map((w) => w.client)).toEqual([]);
    expect(views.at(-1)?.leader).toBe(next.id);

    for (const r of rs) {
      const s = await status(r);
      expect(s.rollout?.id, r.name).toBe(started.json.id);
      expect(s.rollout?.phase, r.name).toBe('succeeded');
    }
    expect((await cluster(old)).leader).toBe(next.id);
  }, 90_000);
});
