// Leader lease and replica registry against a real redis-server: one leader at a time, fencing tokens
// that only grow, a holder that gives up before anyone else can take over, and a real SIGSTOPped
// process that notices on SIGCONT that its lease is gone.
import type { ChildProcess } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Monotonic } from '../../src/domain/clock.js';
import { leaderKey, replicaKey, replicasKey } from '../../src/store/keys.js';
import { Lease, type LeaseTimers, type LoseReason, type ScriptRunner } from '../../src/store/lease.js';
import { ReplicaRegistry } from '../../src/store/replicas.js';
import { killTracked, spawnTracked, stopChild, waitFor } from '../helpers/process.js';
import { startRedis, type RedisHandle } from '../helpers/redis.js';

const TTL = 600;
const RENEW = 200;
const MARGIN = 120; // ttl / 5, the default
/** Timer lateness on a busy 2-core machine. */
const SLACK = 250;
/**
 * The lease of the child processes (lease across real processes): longer than TTL, so a child starved of CPU for
 * a few hundred ms (CI's four test files at once) still renews in time. With 600 ms (and 300 ms per command) the
 * resumed leader once took the lease back in CI, which it can only do once the one that took over let its key
 * expire: that one's renewals had not come in time.
 */
const CHILD_TTL = 2_000;
const CHILD_RENEW = 400;
/** A child's start (tsx compiling the lease on the fly): past 5 s once beside a busy loop and four test files. */
const CHILD_START_MS = 20_000;

let redis: RedisHandle;
const clients: Redis[] = [];
const leases: Lease[] = [];
const registries: ReplicaRegistry[] = [];
let prefixSeq = 0;

beforeAll(async () => {
  redis = await startRedis();
});

afterEach(async () => {
  await Promise.allSettled(leases.splice(0).map((l) => l.stop()));
  await Promise.allSettled(registries.splice(0).map((r) => r.stop()));
  for (const c of clients.splice(0)) c.disconnect();
});

afterAll(async () => {
  await killTracked();
  await redis?.stop();
});

async function client(): Promise<Redis> {
  const c = new Redis(redis.url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    commandTimeout: 300,
    maxRetriesPerRequest: 0,
    retryStrategy: (n) => Math.min(20 * n, 100),
  });
  c.on('error', () => undefined);
  clients.push(c);
  await c.connect();
  return c;
}

const newPrefix = (): string => `t${process.pid}-${++prefixSeq}`;

interface Ev {
  who: string;
  ev: 'acquire' | 'lose';
  token?: number;
  reason?: LoseReason;
  at: number;
}

function lease(
  r: ScriptRunner,
  prefix: string,
  id: string,
  events: Ev[],
  extra: { monotonic?: Monotonic; timers?: LeaseTimers } = {},
): Lease {
  const l = new Lease(r, {
    prefix,
    id,
    ttlMs: TTL,
    renewEveryMs: RENEW,
    ...(extra.monotonic ? { monotonic: extra.monotonic } : {}),
    ...(extra.timers ? { timers: extra.timers } : {}),
  });
  l.onAcquire((token) => events.push({ who: id, ev: 'acquire', token, at: Date.now() }));
  l.onLose((reason) => events.push({ who: id, ev: 'lose', reason, at: Date.now() }));
  leases.push(l);
  return l;
}

const acquired = (events: Ev[], who: string): Ev | undefined => events.find((e) => e.who === who && e.ev === 'acquire');

/** A runner that counts the lease's round trips as they come back (answered or failed). */
interface Counted extends ScriptRunner {
  readonly trips: number;
}

function counted(r: ScriptRunner): Counted {
  let trips = 0;
  return {
    get trips() {
      return trips;
    },
    eval: (script, n, ...args) => r.eval(script, n, ...args).finally(() => void trips++),
  };
}

/**
 * Resolves once every runner has made one more round trip: proof that a lease period went by (each
 * replica ticks once per RENEW), without guessing how long that takes on a busy machine.
 */
async function nextRound(...runners: Counted[]): Promise<void> {
  const before = runners.map((r) => r.trips);
  await waitFor(() => runners.every((r, i) => r.trips > (before[i] as number)), {
    timeoutMs: 2 * RENEW + SLACK,
    intervalMs: 5,
    what: 'one more lease round trip by every replica',
  });
}

describe('Lease', () => {
  it('two replicas: exactly one leads, and Redis names it with its token', async () => {
    const prefix = newPrefix();
    const events: Ev[] = [];
    const [ra, rb] = [counted(await client()), counted(await client())];
    const a = lease(ra, prefix, 'a', events);
    const b = lease(rb, prefix, 'b', events);
    await Promise.all([a.start(), b.start()]);
    const winner = await waitFor(() => (a.isLeader() ? a : b.isLeader() ? b : null), {
      timeoutMs: 2_000,
      what: 'a leader',
    });
    const loser = winner === a ? b : a;
    // Through several renewal periods (each replica renewing or trying again) the roles hold still.
    for (let i = 0; i < 5; i++) {
      await nextRound(ra, rb);
      expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
      expect(loser.token()).toBeNull();
    }
    const inRedis = await a.leader();
    expect(inRedis).toEqual({ id: winner === a ? 'a' : 'b', token: winner.token() });
    expect(events.filter((e) => e.ev === 'acquire')).toHaveLength(1);
  });

  it('stop() hands over within the ttl, and tokens strictly increase across successive leaders', async () => {
    const prefix = newPrefix();
    const events: Ev[] = [];
    const a = lease(await client(), prefix, 'a', events);
    await a.start();
    expect(a.isLeader()).toBe(true);
    const b = lease(await client(), prefix, 'b', events);
    await b.start();
    expect(b.isLeader()).toBe(false);
    const tokens = [a.token() as number];
    let [holder, next] = [a, b];
    for (let round = 0; round < 3; round++) {
      const stoppedAt = Date.now();
      await holder.stop();
      expect(holder.isLeader()).toBe(false);
      await waitFor(() => next.isLeader(), { timeoutMs: TTL, intervalMs: 10, what: 'the other replica to take over' });
      expect(Date.now() - stoppedAt).toBeLessThan(TTL);
      tokens.push(next.token() as number);
      const again = lease(await client(), prefix, `r${round}`, events);
      await again.start();
      [holder, next] = [next, again];
    }
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1] as number);
    expect(events.filter((e) => e.ev === 'lose').map((e) => e.reason)).toEqual(['stopped', 'stopped', 'stopped']);
  });

  it('a leader whose renewals hang gives up before the other can acquire, with a lower token', async () => {
    const prefix = newPrefix();
    const events: Ev[] = [];
    const real = await client();
    let blocked = false;
    const release: Array<() => void> = [];
    // Renewals sent while blocked never answer (until the test ends): a partitioned or stuck link.
    const gated: ScriptRunner = {
      eval: (script, n, ...args) =>
        blocked
          ? new Promise((_, reject) => release.push(() => reject(new Error('released'))))
          : real.eval(script, n, ...args),
    };
    const a = lease(gated, prefix, 'a', events);
    await a.start();
    const b = lease(await client(), prefix, 'b', events);
    // The safety itself: at the moment b takes over, a no longer believes it leads.
    let aLeadsAsBTakes: boolean | null = null;
    b.onAcquire(() => (aLeadsAsBTakes = a.isLeader()));
    await b.start();
    const tokenA = a.token() as number;
    // The test's own loop may stall (a loaded CI machine): a late deadline timer emits 'lose' late, though
    // isLeader() already said false. The margin below is measured net of the longest stall seen.
    const stalls = monitorEventLoopDelay({ resolution: 5 });
    stalls.enable();
    blocked = true;
    const blockedAt = Date.now();
    try {
      const lost = await waitFor(() => events.find((e) => e.who === 'a' && e.ev === 'lose'), {
        timeoutMs: TTL + SLACK,
        intervalMs: 5,
        what: 'a to lose',
      });
      const took = await waitFor(() => acquired(events, 'b'), {
        timeoutMs: TTL + RENEW + SLACK,
        intervalMs: 5,
        what: 'b to acquire',
      });
      stalls.disable();
      const stalledMs = stalls.max / 1e6;
      expect(lost.reason).toBe('expired');
      expect(aLeadsAsBTakes).toBe(false);
      // It stopped a whole margin before Redis could let b in (minus timer lateness, and the loop's stalls).
      expect(took.at - lost.at, `longest loop stall ${stalledMs.toFixed(0)} ms`).toBeGreaterThanOrEqual(
        MARGIN - Math.max(40, stalledMs),
      );
      expect(lost.at - blockedAt).toBeLessThanOrEqual(TTL - MARGIN + SLACK);
      expect(took.token).toBeGreaterThan(tokenA);
      expect(a.isLeader()).toBe(false);
    } finally {
      stalls.disable();
      for (const r of release) r();
    }
  });

  it('a process paused past its lease (frozen timers) calls onLose first thing on resume', async () => {
    const prefix = newPrefix();
    const events: Ev[] = [];
    const timers = new FreezableTimers();
    const ra = counted(await client());
    const a = lease(ra, prefix, 'a', events, { timers });
    await a.start();
    const tokenA = a.token() as number;
    const rb = counted(await client());
    const b = lease(rb, prefix, 'b', events);
    await b.start();
    timers.freeze();
    const took = await waitFor(() => acquired(events, 'b'), {
      timeoutMs: TTL + RENEW + SLACK,
      intervalMs: 10,
      what: 'b to acquire',
    });
    expect(took.token).toBeGreaterThan(tokenA);
    // Paused: a has not run, so it has not told anyone yet.
    expect(events.filter((e) => e.who === 'a')).toHaveLength(1);
    const resumedAt = events.length;
    timers.thaw();
    expect(events[resumedAt]).toMatchObject({ who: 'a', ev: 'lose', reason: 'expired' });
    // Five more tries by a, and renewals by b: a stays a follower, b the leader.
    for (let i = 0; i < 5; i++) {
      await nextRound(ra, rb);
      expect(a.isLeader()).toBe(false);
      expect(b.isLeader()).toBe(true);
    }
    expect(events.filter((e) => e.who === 'a' && e.ev === 'acquire')).toHaveLength(1);
  });

  it('a monotonic jump past the ttl is noticed on the next tick, while Redis still holds the lease', async () => {
    const prefix = newPrefix();
    const events: Ev[] = [];
    let offset = 0;
    const a = lease(await client(), prefix, 'a', events, { monotonic: { now: () => performance.now() + offset } });
    await a.start();
    const tokenA = a.token() as number;
    const b = lease(await client(), prefix, 'b', events);
    await b.start();
    const c = await client();
    offset = TTL;
    const jumpedAt = Date.now();
    const lost = await waitFor(() => events.find((e) => e.who === 'a' && e.ev === 'lose'), {
      timeoutMs: RENEW + SLACK,
      intervalMs: 5,
      what: 'a to lose',
    });
    expect(lost.reason).toBe('expired');
    expect(lost.at - jumpedAt).toBeLessThanOrEqual(RENEW + SLACK);
    // Nobody else could have taken over yet: the key is still a's and still has time to live.
    expect(await c.get(leaderKey(prefix))).toBe(`a|${tokenA}`);
    expect(await c.pttl(leaderKey(prefix))).toBeGreaterThan(0);
    // Once it expires, whoever wins (a too, on its own new clock) gets a higher token.
    const next = await waitFor(() => events.find((e) => e.ev === 'acquire' && e.at > lost.at), {
      timeoutMs: TTL + RENEW + SLACK,
      intervalMs: 5,
      what: 'a new leader',
    });
    expect(next.token).toBeGreaterThan(tokenA);
  });

  it('Redis down: the leader loses after ttl − margin (not later) and leadership returns with Redis', async () => {
    const prefix = newPrefix();
    const events: Ev[] = [];
    const ra = counted(await client());
    const a = lease(ra, prefix, 'a', events);
    await a.start();
    const rb = counted(await client());
    const b = lease(rb, prefix, 'b', events);
    await b.start();
    // a has renewed since it won, and b has tried again and seen a's token (its floor after the crash).
    await nextRound(ra, rb);
    const tokenA = a.token() as number;
    await redis.kill9();
    const downAt = Date.now();
    const lost = await waitFor(() => events.find((e) => e.who === 'a' && e.ev === 'lose'), {
      timeoutMs: TTL + SLACK,
      intervalMs: 5,
      what: 'a to lose',
    });
    const after = lost.at - downAt;
    expect(after).toBeLessThanOrEqual(TTL - MARGIN + SLACK);
    // The last renewal was sent at most one period before the crash.
    expect(after).toBeGreaterThanOrEqual(TTL - MARGIN - RENEW - 20);
    expect(a.isLeader() || b.isLeader()).toBe(false);
    await redis.restart(); // empty: the fence counter itself was lost
    const back = await waitFor(() => (a.isLeader() ? a : b.isLeader() ? b : null), {
      timeoutMs: 5_000,
      what: 'a leader after Redis returns',
    });
    expect(back.token()).toBeGreaterThan(tokenA);
    expect([a.isLeader(), b.isLeader()].filter(Boolean)).toHaveLength(1);
  });
});

describe('Lease across real processes', () => {
  it('SIGSTOPped leader: the other takes over; on SIGCONT it reports the loss at once, stays a follower', async () => {
    // The premise is that a leads at the moment it is stopped. A host that starves a for longer than its lease
    // before the stop makes it lose the lease early (rightly); then the premise was not reached, and the
    // scenario runs again on a fresh prefix rather than assert on a follower (ci91).
    for (let attempt = 1; attempt <= 3; attempt++) {
      if ((await stoppedLeaderScenario()) === 'done') return;
      console.warn(`attempt ${attempt}: a lost its lease before it was stopped (a starved host); again`);
    }
    throw new Error('a did not hold its lease at the moment it was stopped, 3 times');
  }, 150_000);
});

/** Runs the scenario; 'premise-missed' when a had already lost its lease before it was stopped. */
async function stoppedLeaderScenario(): Promise<'done' | 'premise-missed'> {
  const prefix = newPrefix();
  const a = startChild(prefix, 'a');
  const tokenA = (await waitLine(a, (l) => l.ev === 'acquire', CHILD_START_MS)).token as number;
  const b = startChild(prefix, 'b');
  await waitLine(b, (l) => l.ev === 'started', CHILD_START_MS);
  let paused = false;
  try {
    const stoppedAt = Date.now();
    a.child.kill('SIGSTOP');
    paused = true;
    const took = await waitLine(b, (l) => l.ev === 'acquire', CHILD_TTL + CHILD_RENEW + 5_000);
    // Everything a printed before the stop has been read by now (b waited out a's whole lease for the key).
    if (a.lines.some((l) => l.ev === 'lose') || took.t < stoppedAt) return 'premise-missed';
    expect(took.token).toBeGreaterThan(tokenA);
    // b is settled in: it has been answered by Redis since it took over (its first renewal or more).
    await waitLine(b, (l) => l.ev === 'trip' && l.t > took.t, 2 * CHILD_RENEW + 5_000);
    const contAt = Date.now();
    a.child.kill('SIGCONT');
    paused = false;
    const lost = await waitLine(a, (l) => l.ev === 'lose', 5_000);
    expect(lost.reason).toBe('expired');
    // Five tries of its own after the loss (a lease period each) while b goes on leading.
    await waitFor(() => a.lines.filter((l) => l.ev === 'trip' && l.t > lost.t).length >= 5, {
      timeoutMs: 5 * CHILD_RENEW + 5_000,
      intervalMs: 10,
      what: 'five lease round trips by a after its loss',
    });
    const resumed = a.lines.filter((l) => l.t >= contAt);
    // "At once" is in a's own order of events, not in wall-clock ms (a resumed process may wait for a core):
    // nothing a said after resuming came before the loss (a reply that was travelling while it was stopped
    // may be counted first), and it never claimed leadership again.
    expect(resumed.find((l) => l.ev !== 'trip')?.ev).toBe('lose');
    expect(resumed.some((l) => l.ev === 'acquire' || (l.ev === 'status' && l.leader))).toBe(false);
    expect(resumed.filter((l) => l.ev === 'status').length).toBeGreaterThan(5);
    const bLater = b.lines.filter((l) => l.ev === 'status' && l.t > took.t + 20);
    expect(bLater.length).toBeGreaterThan(5);
    expect(bLater.every((l) => l.leader === true)).toBe(true);
    return 'done';
  } finally {
    if (paused) a.child.kill('SIGCONT');
    await Promise.allSettled([stopChild(a.child, 2_000), stopChild(b.child, 2_000)]);
  }
}

describe('ReplicaRegistry', () => {
  it('lists live replicas and drops a stopped one at once and a killed one within the ttl', async () => {
    const prefix = newPrefix();
    const make = async (id: string): Promise<ReplicaRegistry> => {
      const r = new ReplicaRegistry(await client(), {
        prefix,
        id,
        info: { adminUrl: `http://127.0.0.1:9${id.length}00/${id}`, version: '1.2.3' },
        everyMs: 100,
        ttlMs: TTL,
      });
      registries.push(r);
      await r.start();
      return r;
    };
    const one = await make('one');
    const two = await make('two');
    const killedConn = await client();
    const three = new ReplicaRegistry(killedConn, {
      prefix,
      id: 'three',
      info: { adminUrl: 'http://127.0.0.1:9300', version: '1.2.3' },
      everyMs: 100,
      ttlMs: TTL,
    });
    registries.push(three);
    await three.start();
    const all = await one.list();
    expect(all.map((r) => r.id)).toEqual(['one', 'three', 'two']);
    expect(all.find((r) => r.id === 'two')).toMatchObject({ adminUrl: 'http://127.0.0.1:9300/two', version: '1.2.3' });
    for (const r of all) expect(Math.abs(Date.parse(r.seenAt) - Date.now())).toBeLessThan(1_000);
    // Timed by Redis, not by the lister's clock: one a minute ahead neither prunes the others nor sees them gone.
    const ahead = vi.spyOn(Date, 'now').mockImplementation(() => performance.timeOrigin + performance.now() + 60_000);
    try {
      expect((await one.list()).map((r) => r.id)).toEqual(['one', 'three', 'two']);
    } finally {
      ahead.mockRestore();
    }
    expect((await one.list()).map((r) => r.id)).toEqual(['one', 'three', 'two']);

    await two.stop();
    expect((await one.list()).map((r) => r.id)).toEqual(['one', 'three']);

    // A crash: no deregistration, heartbeats just stop.
    killedConn.disconnect();
    const killedAt = Date.now();
    await waitFor(async () => !(await one.list()).some((r) => r.id === 'three'), {
      timeoutMs: TTL + SLACK,
      intervalMs: 20,
      what: 'three to drop out',
    });
    expect(Date.now() - killedAt).toBeLessThanOrEqual(TTL + SLACK);
    expect(Date.now() - killedAt).toBeGreaterThanOrEqual(TTL - 150);
    expect((await one.list()).map((r) => r.id)).toEqual(['one']);
    const c = await client();
    // The pruned entry left nothing behind but its expiring hash.
    expect(await c.zcard(replicasKey(prefix))).toBe(1);
    expect(await c.exists(replicaKey(prefix, 'two'))).toBe(0);
  });
});

/** Timers that can be frozen like a SIGSTOPped process: due callbacks wait and run on thaw, in order. */
class FreezableTimers implements LeaseTimers {
  private frozen = false;
  private readonly due: Array<() => void> = [];
  private readonly live = new Set<NodeJS.Timeout>();

  setTimeout(fn: () => void, ms: number): unknown {
    const t = setTimeout(() => {
      this.live.delete(t);
      if (this.frozen) this.due.push(fn);
      else fn();
    }, ms);
    this.live.add(t);
    return t;
  }

  clearTimeout(h: unknown): void {
    clearTimeout(h as NodeJS.Timeout);
    this.live.delete(h as NodeJS.Timeout);
  }

  freeze(): void {
    this.frozen = true;
  }

  thaw(): void {
    this.frozen = false;
    for (const fn of this.due.splice(0)) fn();
  }
}

interface Line {
  ev: string;
  t: number;
  token?: number;
  reason?: string;
  leader?: boolean;
}

interface Child {
  child: ChildProcess;
  lines: Line[];
}

const LEASE_MODULE = pathToFileURL(path.resolve(import.meta.dirname, '../../src/store/lease.ts')).href;

// Runs in the child: a Lease on its own connection, printing every event, every round trip to Redis
// once it is back ('trip'), and its view each 50 ms.
const CHILD = `
const { Redis } = await import('ioredis');
const { Lease } = await import(process.env.LEASE_MODULE);
const env = process.env;
const redis = new Redis(env.REDIS_URL, {
  enableOfflineQueue: false,
  commandTimeout: Number(env.RENEW),
  maxRetriesPerRequest: 0,
  retryStrategy: (n) => Math.min(20 * n, 100),
});
redis.on('error', () => {});
const out = (o) => process.stdout.write(JSON.stringify({ ...o, t: Date.now() }) + '\\n');
const runner = { eval: (...args) => redis.eval(...args).finally(() => out({ ev: 'trip' })) };
const lease = new Lease(runner, {
  prefix: env.PREFIX,
  id: env.ID,
  ttlMs: Number(env.TTL),
  renewEveryMs: Number(env.RENEW),
});
lease.onAcquire((token) => out({ ev: 'acquire', token }));
lease.onLose((reason) => out({ ev: 'lose', reason }));
const status = setInterval(() => out({ ev: 'status', leader: lease.isLeader(), token: lease.token() }), 50);
process.on('SIGTERM', async () => { clearInterval(status); await lease.stop(); redis.disconnect(); process.exit(0); });
await new Promise((resolve) => redis.once('ready', resolve));
await lease.start();
out({ ev: 'started' });
`;

function startChild(prefix: string, id: string): Child {
  const env = {
    ...process.env,
    LEASE_MODULE,
    REDIS_URL: redis.url,
    PREFIX: prefix,
    ID: id,
    TTL: String(CHILD_TTL),
    RENEW: String(CHILD_RENEW),
  };
  const child = spawnTracked(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', CHILD], {
    cwd: path.resolve(import.meta.dirname, '../..'),
    env,
  });
  const lines: Line[] = [];
  let buf = '';
  child.stdout?.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const raw = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(raw) as Line);
      } catch {
        // not one of ours (a warning); ignore
      }
    }
  });
  return { child, lines };
}

function waitLine(c: Child, pred: (l: Line) => boolean, timeoutMs: number): Promise<Line> {
  return waitFor(() => c.lines.find(pred), { timeoutMs, intervalMs: 10, what: `a child line (pid ${c.child.pid})` });
}
