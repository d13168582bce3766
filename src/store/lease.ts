// Leader lease with fencing tokens: one replica at a time drives rollouts. The holder gives up
// locally *before* the lease can expire in Redis (ttl − margin after the last renewal was sent), so
// two replicas never both believe they lead; a stale holder that still writes (SIGSTOPped past its
// lease, then resumed) is refused by the fencing token, which only ever grows.
import type { Clock } from '../domain/clock.js';
import { silentLogger, type Logger } from '../domain/log.js';

/** The part of an ioredis `Redis` (or `Cluster`) this needs; every call is one atomic script. */
export interface ScriptRunner {
  eval(script: string, numkeys: number, ...args: (string | number)[]): Promise<unknown>;
}

export interface LeaseTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export type LoseReason = 'expired' | 'superseded' | 'stopped';

export interface LeaseOptions {
  prefix: string;
  /** Unique per replica; stored in the leader key as `<id>|<token>`. */
  id: string;
  ttlMs?: number;
  renewEveryMs?: number;
  /** Local safety margin before the Redis expiry: covers clock drift and slow replies. */
  marginMs?: number;
  clock: Clock;
  log?: Logger;
  timers?: LeaseTimers;
}

export interface LeaderInfo {
  id: string;
  token: number;
}

/** Every key of one installation carries the same hash tag, so the scripts work in Redis Cluster. */
export function leaseKeys(prefix: string): { leader: string; fence: string } {
  return { leader: `${prefix}:{${prefix}}:leader`, fence: `${prefix}:{${prefix}}:fence` };
}

// SET NX first so the fence only moves when the lease is really taken. ARGV[3] is the highest token
// this replica has seen: if Redis lost its data (restart without persistence) the fence restarts
// from there instead of 1, so a stale holder's token never outranks the new leader's.
const ACQUIRE = `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
local floor = tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') < floor then redis.call('SET', KEYS[2], floor) end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return {1, token}`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
return {0, tonumber(redis.call('GET', KEYS[2]) or '0')}`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

const READ = `return redis.call('GET', KEYS[1])`;

const realTimers: LeaseTimers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    // The lease alone must not keep a process alive.
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

interface Held {
  token: number;
  value: string;
  /** Local deadline: the last successful renewal's *send* time + ttl − margin. */
  validUntil: number;
}

type Listener<T> = (v: T) => unknown;

export class Lease {
  private readonly keys: { leader: string; fence: string };
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly marginMs: number;
  private readonly log: Logger;
  private readonly timers: LeaseTimers;
  private held: Held | null = null;
  private highestSeen = 0;
  private running = false;
  private tickTimer: unknown = null;
  private deadlineTimer: unknown = null;
  private inflightSince: number | null = null;
  private readonly acquireListeners = new Set<Listener<number>>();
  private readonly loseListeners = new Set<Listener<LoseReason>>();

  constructor(
    private readonly redis: ScriptRunner,
    private readonly o: LeaseOptions,
  ) {
    this.keys = leaseKeys(o.prefix);
    this.ttlMs = o.ttlMs ?? 5000;
    this.renewEveryMs = o.renewEveryMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.marginMs = o.marginMs ?? Math.floor(this.ttlMs / 5);
    if (this.renewEveryMs >= this.ttlMs - this.marginMs)
      throw new RangeError('renewEveryMs must be shorter than ttlMs − marginMs');
    this.log = o.log ?? silentLogger;
    this.timers = o.timers ?? realTimers;
  }

  onAcquire(fn: Listener<number>): () => void {
    this.acquireListeners.add(fn);
    return () => this.acquireListeners.delete(fn);
  }

  onLose(fn: Listener<LoseReason>): () => void {
    this.loseListeners.add(fn);
    return () => this.loseListeners.delete(fn);
  }

  /** Tries at once, then every renewEveryMs; resolves after the first attempt (never rejects). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await this.tick();
  }

  /** Checks the deadline itself, so a process resumed after a pause answers false at once. */
  isLeader(): boolean {
    this.loseIfExpired();
    return this.held !== null;
  }

  token(): number | null {
    return this.isLeader() ? (this.held?.token ?? null) : null;
  }

  /** Stops trying; releases the lease only if Redis still holds exactly our tenure. */
  async stop(): Promise<void> {
    this.running = false;
    this.timers.clearTimeout(this.tickTimer);
    this.tickTimer = null;
    const held = this.held;
    if (!held) return;
    this.lose('stopped');
    try {
      await this.redis.eval(RELEASE, 1, this.keys.leader, held.value);
    } catch (e) {
      this.log.log('warn', 'lease release failed; it expires by itself', { error: String(e) });
    }
  }

  /** Who holds the lease according to Redis (whatever any replica believes locally). */
  async leader(): Promise<LeaderInfo | null> {
    const v = await this.redis.eval(READ, 1, this.keys.leader);
    return typeof v === 'string' ? parseLeader(v) : null;
  }

  private async tick(): Promise<void> {
    // First thing on every wake-up: a process resumed after a pause must not act on a dead lease.
    this.loseIfExpired();
    if (!this.running) return;
    this.tickTimer = this.timers.setTimeout(() => void this.tick(), this.renewEveryMs);
    const now = this.o.clock.now();
    // One request at a time, but a request that never answers must not block the lease forever.
    if (this.inflightSince !== null && now - this.inflightSince < this.ttlMs) return;
    this.inflightSince = now;
    try {
      if (this.held) await this.renew(this.held, now);
      else await this.acquire(now);
    } catch (e) {
      this.log.log('debug', 'lease round trip failed', { error: String(e) });
    } finally {
      if (this.inflightSince === now) this.inflightSince = null;
    }
  }

  private async acquire(sentAt: number): Promise<void> {
    const reply = await this.redis.eval(
      ACQUIRE,
      2,
      this.keys.leader,
      this.keys.fence,
      this.o.id,
      this.ttlMs,
      this.highestSeen,
    );
    const [won, n] = pair(reply);
    this.highestSeen = Math.max(this.highestSeen, n);
    if (!won) return;
    const held: Held = { token: n, value: `${this.o.id}|${n}`, validUntil: sentAt + this.ttlMs - this.marginMs };
    if (!this.running || this.held || this.o.clock.now() >= held.validUntil) {
      // Won too late to use it safely (or after stop): hand it back rather than block others.
      await this.redis.eval(RELEASE, 1, this.keys.leader, held.value).catch(() => undefined);
      return;
    }
    this.held = held;
    this.armDeadline();
    this.log.log('info', 'lease acquired', { id: this.o.id, token: n });
    this.emit(this.acquireListeners, n);
  }

  private async renew(held: Held, sentAt: number): Promise<void> {
    const reply = await this.redis.eval(RENEW, 2, this.keys.leader, this.keys.fence, held.value, this.ttlMs);
    const [ok, fence] = pair(reply);
    this.highestSeen = Math.max(this.highestSeen, fence);
    // The tenure may have ended while the reply travelled; only the same tenure is extended.
    if (this.held !== held) return;
    if (!ok) {
      this.lose('superseded');
      return;
    }
    held.validUntil = Math.max(held.validUntil, sentAt + this.ttlMs - this.marginMs);
    this.armDeadline();
  }

  private loseIfExpired(): void {
    if (this.held && this.o.clock.now() >= this.held.validUntil) this.lose('expired');
  }

  private armDeadline(): void {
    this.timers.clearTimeout(this.deadlineTimer);
    const held = this.held;
    if (!held) return;
    this.deadlineTimer = this.timers.setTimeout(
      () => this.loseIfExpired(),
      Math.max(0, held.validUntil - this.o.clock.now()),
    );
  }

  private lose(reason: LoseReason): void {
    const held = this.held;
    if (!held) return;
    this.held = null;
    this.timers.clearTimeout(this.deadlineTimer);
    this.deadlineTimer = null;
    this.log.log('warn', 'lease lost', { id: this.o.id, token: held.token, reason });
    this.emit(this.loseListeners, reason);
  }

  private emit<T>(listeners: Set<Listener<T>>, v: T): void {
    for (const fn of listeners) {
      try {
        // A listener's failure must not stop the lease loop; async listeners are caught too.
        void Promise.resolve(fn(v)).catch((e: unknown) =>
          this.log.log('error', 'lease listener failed', { error: String(e) }),
        );
      } catch (e) {
        this.log.log('error', 'lease listener failed', { error: String(e) });
      }
    }
  }
}

/** `<id>|<token>`; the id may itself contain "|", the token never does. */
export function parseLeader(value: string): LeaderInfo | null {
  const i = value.lastIndexOf('|');
  const token = Number(value.slice(i + 1));
  if (i <= 0 || !Number.isSafeInteger(token) || token <= 0) return null;
  return { id: value.slice(0, i), token };
}

function pair(reply: unknown): [boolean, number] {
  if (!Array.isArray(reply) || reply.length !== 2)
    throw new Error(`unexpected lease script reply: ${JSON.stringify(reply)}`);
  return [Number(reply[0]) === 1, Number(reply[1])];
}
