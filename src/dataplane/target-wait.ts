// Requests waiting for a target. When a service has no target it may use (compose recreating its
// containers, a new container not listening yet, every target ejected), a request waits up to its
// service's `waitForTarget` instead of getting 503 at once, like Caddy's lb_try_duration: what
// would have been an outage of a second becomes a second of latency. Waiters are woken by anything
// that can make a target usable (a routing-table swap, a health probe, a readiness probe) and, for
// ejections that simply expire, by a backstop tick while anyone waits. Bounded in time (each
// waiter's own deadline) and in number (`max`; beyond it, the 503 comes at once).

import type { PoolName } from '../domain/pool.js';
import type { ExchangeEnv } from './exchange-env.js';
import { pickNow } from './pool-choice.js';
import type { ProxyErrorCode } from './responses.js';
import type { PoolRuntime, ServiceRoute } from './table.js';
import type { Upstream } from './upstream.js';

const BACKSTOP_MS = 100;

export interface Waiter {
  /** Tries to go on; true when the waiter is done (served, answered or gone), false to keep waiting. */
  retry(): boolean;
  /** Its deadline passed: answer it now. */
  expire(): void;
}

interface Entry {
  readonly waiter: Waiter;
  readonly timer: NodeJS.Timeout;
}

export class TargetWaits {
  private readonly entries = new Set<Entry>();
  private backstop: NodeJS.Timeout | null = null;
  private waking = false;

  constructor(private readonly max: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** Holds `waiter` for at most `ms`; returns how to let go of it, or null when no more may wait. */
  hold(waiter: Waiter, ms: number): (() => void) | null {
    if (ms <= 0 || this.entries.size >= this.max) return null;
    const entry: Entry = {
      waiter,
      timer: setTimeout(() => {
        if (this.drop(entry)) waiter.expire();
      }, ms),
    };
    this.entries.add(entry);
    if (this.backstop === null) {
      this.backstop = setInterval(() => this.wake(), BACKSTOP_MS);
      this.backstop.unref();
    }
    return () => void this.drop(entry);
  }

  /** Lets every waiter try again (in arrival order). */
  wake(): void {
    if (this.waking || this.entries.size === 0) return;
    this.waking = true;
    try {
      for (const e of [...this.entries]) if (this.entries.has(e) && e.waiter.retry()) this.drop(e);
    } finally {
      this.waking = false;
    }
  }

  /** Answers everyone still waiting (shutdown). */
  expireAll(): void {
    for (const e of [...this.entries]) if (this.drop(e)) e.waiter.expire();
  }

  private drop(e: Entry): boolean {
    if (!this.entries.delete(e)) return false;
    clearTimeout(e.timer);
    if (this.entries.size === 0 && this.backstop !== null) {
      clearInterval(this.backstop);
      this.backstop = null;
    }
    return true;
  }
}

/** What a waiting request offers its wait (an Exchange). */
export interface WaitingRequest {
  /** Answered, or its client gone. */
  readonly over: boolean;
  resume(route: ServiceRoute, pool: PoolRuntime, target: Upstream): void;
  giveUp(code: ProxyErrorCode): void;
}

/** One request's waiting: a single budget from its first wait, however often it waits. */
export class TargetWait {
  private until = 0;
  private letGo: (() => void) | null = null;

  constructor(
    private readonly env: Pick<ExchangeEnv, 'waits' | 'table' | 'clock' | 'random'>,
    private readonly request: WaitingRequest,
  ) {}

  /**
   * Waits for a target of `route`'s service, `pool` first, within what is left of the budget; when
   * it may not wait (budget spent, too many waiting), the request is answered `code` now.
   */
  hold(route: ServiceRoute, pool: PoolName, code: ProxyErrorCode): void {
    const now = this.env.clock.now();
    if (this.until === 0) this.until = now + route.timeouts.waitForTarget;
    const waiter: Waiter = {
      retry: () => this.retry(route.name, pool),
      expire: () => {
        this.letGo = null;
        this.request.giveUp(code);
      },
    };
    this.letGo = this.env.waits.hold(waiter, this.until - now);
    if (this.letGo === null) this.request.giveUp(code);
  }

  /** The client left: stop waiting. */
  cancel(): void {
    this.letGo?.();
    this.letGo = null;
  }

  private retry(service: string, pool: PoolName): boolean {
    if (this.request.over) return true;
    const found = pickNow(this.env.table(), service, pool, this.env.clock.now(), this.env.random);
    if (found?.pick.pool === null) return false;
    this.letGo = null;
    if (found === null) this.request.giveUp('no_route');
    else if (found.pick.pool !== null) this.request.resume(found.route, found.pick.pool, found.pick.target);
    return true;
  }
}
