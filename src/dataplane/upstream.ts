// One upstream target's runtime: its undici connection pool plus the balancer and health state.
// Upstreams are shared by id across routing-table swaps so a weight change never drops
// connections or resets outstanding counts.
import { Pool } from 'undici';
import type { TargetAddress } from '../domain/target.js';
import type { BalancedTarget } from './balancer.js';

export interface UpstreamOptions {
  connectTimeout: number;
  /** Idle keep-alive sockets close after this; must stay below the upstream's own keep-alive. */
  idleTimeout: number;
  connections: number;
  headersTimeout: number;
  bodyTimeout: number;
}

export class Upstream implements BalancedTarget {
  readonly address: TargetAddress;
  readonly pool: Pool;
  outstanding = 0;
  consecutiveFailures = 0;
  ejectedUntil = 0;
  healthy = true;
  /** Active health-check streaks (see health.ts). */
  healthOk = 0;
  healthFail = 0;
  lastHealthError: string | null = null;

  constructor(address: TargetAddress, opts: UpstreamOptions) {
    this.address = address;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    this.pool = new Pool(`http://${host}:${address.port}`, {
      connections: opts.connections,
      // Pipelining above 1 is unsafe in a proxy: one aborted request would abort the others.
      pipelining: 1,
      keepAliveTimeout: opts.idleTimeout,
      keepAliveMaxTimeout: opts.idleTimeout,
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
      connect: { timeout: opts.connectTimeout, noDelay: true },
    });
  }

  async close(): Promise<void> {
    try {
      await this.pool.close();
    } catch {
      await this.pool.destroy().catch(() => undefined);
    }
  }
}

/** Keeps one Upstream per target id; releases the ones no routing table uses any more. */
export class UpstreamSet {
  private readonly byId = new Map<string, Upstream>();
  /** Released upstreams still finishing their in-flight requests, by id. */
  private readonly closing = new Map<string, { upstream: Upstream; done: Promise<void> }>();

  constructor(private readonly opts: UpstreamOptions) {}

  acquire(addresses: readonly TargetAddress[]): Upstream[] {
    return addresses.map((a) => {
      let u = this.byId.get(a.id);
      if (!u) {
        u = new Upstream(a, this.opts);
        this.byId.set(a.id, u);
      }
      return u;
    });
  }

  /** Closes (gracefully: in-flight requests finish) every upstream not in `inUse`. */
  release(inUse: ReadonlySet<string>): void {
    for (const [id, u] of this.byId) {
      if (inUse.has(id)) continue;
      this.byId.delete(id);
      const done = u.close().finally(() => {
        if (this.closing.get(id)?.upstream === u) this.closing.delete(id);
      });
      this.closing.set(id, { upstream: u, done });
    }
  }

  /**
   * Waits (at most `timeoutMs`) for released targets to finish their in-flight requests, then cuts
   * what is left. A target still routed (e.g. shared with another pool) is not waited for.
   */
  async drain(ids: readonly string[], timeoutMs: number): Promise<{ drained: boolean; cut: number }> {
    const pending = ids.map((id) => this.closing.get(id)).filter((c) => c !== undefined);
    if (pending.length === 0) return { drained: true, cut: 0 };
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), timeoutMs);
      timer.unref();
    });
    const r = await Promise.race([Promise.all(pending.map((p) => p.done)).then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (r === 'done') return { drained: true, cut: 0 };
    let cut = 0;
    for (const p of pending) {
      cut += p.upstream.outstanding;
      await p.upstream.pool.destroy().catch(() => undefined);
    }
    return { drained: false, cut };
  }

  all(): Upstream[] {
    return [...this.byId.values()];
  }

  async closeAll(): Promise<void> {
    const all = this.all();
    this.byId.clear();
    await Promise.all(all.map((u) => u.close()));
  }
}
