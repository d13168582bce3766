// Leader lease with fencing tokens: one replica at a time drives rollouts. The holder gives up
// locally *before* the lease can expire in Redis (ttl − margin after the last renewal was sent), so
// two replicas never both believe they lead; a stale holder that still writes (SIGSTOPped past its
// lease, then resumed) is refused by the fencing token, which only ever grows. The local deadline runs on the
// monotonic clock: a wall clock stepped back (NTP, VM resume) would otherwise keep a partitioned holder leading
// long after Redis let its key expire and another replica took over.
import { systemMonotonic, type Monotonic } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import { silentLogger, type Logger } from '../domain/log.js';
import { LeaseScripts, tenureValue, type LeaderInfo } from './lease-scripts.js';
import type { ScriptRunner } from './redis-connection.js';

export type { LeaderInfo } from './lease-scripts.js';
export type { ScriptRunner } from './redis-connection.js';

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
  /** Times the local deadline; default performance.now (the wall clock may be stepped, this one is not). */
  monotonic?: Monotonic;
  log?: Logger;
  timers?: LeaseTimers;
}

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
  /** Local deadline (monotonic ms): the last successful renewal's *send* time + ttl − margin. */
  validUntil: number;
}

type Listener<T> = (v: T) => unknown;

export class Lease {
  private readonly scripts: LeaseScripts;
  private readonly ttlMs: number;
  private readonly renewEveryMs: number;
  private readonly marginMs: number;
  private readonly log: Logger;
  private readonly timers: LeaseTimers;
  private readonly clock: Monotonic;
  private held: Held | null = null;
  private highestSeen = 0;
  private running = false;
  private tickTimer: unknown = null;
  private deadlineTimer: unknown = null;
  private inflightSince: number | null = null;
  private readonly acquireListeners = new Set<Listener<number>>();
  private readonly loseListeners = new Set<Listener<LoseReason>>();

  constructor(
    redis: ScriptRunner,
    private readonly o: LeaseOptions,
  ) {
    this.scripts = new LeaseScripts(redis, o.prefix);
    this.ttlMs = o.ttlMs ?? 5000;
    this.renewEveryMs = o.renewEveryMs ?? Math.max(1, Math.floor(this.ttlMs / 3));
    this.marginMs = o.marginMs ?? Math.floor(this.ttlMs / 5);
    if (this.renewEveryMs >= this.ttlMs - this.marginMs)
      throw new RangeError('renewEveryMs must be shorter than ttlMs − marginMs');
    this.log = o.log ?? silentLogger;
    this.timers = o.timers ?? realTimers;
    this.clock = o.monotonic ?? systemMonotonic;
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
      await this.scripts.release(held.value);
    } catch (e) {
      this.log.log('warn', 'lease release failed; it expires by itself', { error: errorMessage(e) });
    }
  }

  /** Who holds the lease according to Redis (whatever any replica believes locally). */
  leader(): Promise<LeaderInfo | null> {
    return this.scripts.read();
  }

  private async tick(): Promise<void> {
    // First thing on every wake-up: a process resumed after a pause must not act on a dead lease.
    this.loseIfExpired();
    if (!this.running) return;
    this.tickTimer = this.timers.setTimeout(() => void this.tick(), this.renewEveryMs);
    const now = this.clock.now();
    // One request at a time, but a request that never answers must not block the lease forever.
    if (this.inflightSince !== null && now - this.inflightSince < this.ttlMs) return;
    this.inflightSince = now;
    try {
      if (this.held) await this.renew(this.held, now);
      else await this.acquire(now);
    } catch (e) {
      this.log.log('debug', 'lease round trip failed', { error: errorMessage(e) });
    } finally {
      if (this.inflightSince === now) this.inflightSince = null;
    }
  }

  private async acquire(sentAt: number): Promise<void> {
    const [won, n] = await this.scripts.acquire(this.o.id, this.ttlMs, this.highestSeen);
    this.highestSeen = Math.max(this.highestSeen, n);
    if (!won) return;
    const held: Held = { token: n, value: tenureValue(this.o.id, n), validUntil: sentAt + this.ttlMs - this.marginMs };
    if (!this.running || this.held || this.clock.now() >= held.validUntil) {
      // Won too late to use it safely (or after stop): hand it back rather than block others.
      await this.scripts.release(held.value).catch(() => undefined);
      return;
    }
    this.held = held;
    this.armDeadline();
    this.log.log('info', 'lease acquired', { id: this.o.id, token: n });
    this.emit(this.acquireListeners, n);
  }

  private async renew(held: Held, sentAt: number): Promise<void> {
    const [ok, fence] = await this.scripts.renew(held.value, this.ttlMs);
    this.highestSeen = Math.max(this.highestSeen, fence);
    // The tenure may have ended while the reply travelled; only the same tenure is extended.
    if (this.held !== held) return;
    if (!ok) {
      // Refused after our own deadline passed (a pause between the send and the reply, or a reply slower than the
      // margin): the tenure ran out first, whoever took the key afterwards.
      this.lose(this.clock.now() >= held.validUntil ? 'expired' : 'superseded');
      return;
    }
    held.validUntil = Math.max(held.validUntil, sentAt + this.ttlMs - this.marginMs);
    this.armDeadline();
  }

  private loseIfExpired(): void {
    if (this.held && this.clock.now() >= this.held.validUntil) this.lose('expired');
  }

  private armDeadline(): void {
    this.timers.clearTimeout(this.deadlineTimer);
    const held = this.held;
    if (!held) return;
    this.deadlineTimer = this.timers.setTimeout(
      () => this.onDeadline(),
      Math.max(0, held.validUntil - this.clock.now()),
    );
  }

  /**
   * Node's timers may fire up to a millisecond before performance.now() reaches the deadline: then arm
   * again for the rest, or 'lose' would wait for the next tick, a renewal period late.
   */
  private onDeadline(): void {
    this.loseIfExpired();
    if (this.held) this.armDeadline();
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
          this.log.log('error', 'lease listener failed', { error: errorMessage(e) }),
        );
      } catch (e) {
        this.log.log('error', 'lease listener failed', { error: errorMessage(e) });
      }
    }
  }
}
