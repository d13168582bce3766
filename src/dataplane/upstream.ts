// One upstream target's runtime: its undici connection pool plus the balancer and health state.
// Upstreams are kept by (service, target) across routing-table swaps so a weight change or a
// promotion never drops connections or resets outstanding counts.
import { Pool } from 'undici';
import { settledWithin } from '../domain/async.js';
import type { TargetAddress } from '../domain/target.js';
import type { BalancedTarget } from './balancer.js';

export interface UpstreamOptions {
  connectTimeout: number;
  /** Idle keep-alive sockets close after this; must stay below the upstream's own keep-alive. */
  idleTimeout: number;
  connections: number;
  headersTimeout: number;
  bodyTimeout: number;
  /** HTTP/1.1, or HTTP/2 with prior knowledge (`upstream.protocol: h2c`). */
  protocol?: UpstreamProtocol;
}

export type UpstreamProtocol = 'http1' | 'h2c';

/** HTTP/2 streams one upstream connection carries at once (undici's h2c default). */
const H2C_STREAMS = 100;

/** What a service may set for itself (per-service `timeouts`, `upstream.protocol`); the rest is the proxy's. */
export type UpstreamOverrides = Partial<Pick<UpstreamOptions, 'connectTimeout' | 'idleTimeout' | 'protocol'>>;

export class Upstream implements BalancedTarget {
  readonly address: TargetAddress;
  readonly pool: Pool;
  readonly protocol: UpstreamProtocol;
  outstanding = 0;
  consecutiveFailures = 0;
  ejectedUntil = 0;
  healthy = true;
  /** Added under a health check and not yet passed it (see health.ts): no traffic. */
  pending = false;
  /** Active health-check streaks (see health.ts). */
  healthOk = 0;
  healthFail = 0;
  lastHealthError: string | null = null;
  /** false while its port does not accept connections (Docker targets only, see readiness.ts). */
  ready = true;
  /** Why the last readiness probe failed. */
  readyError: string | null = null;
  /** Has accepted a connection since it was added (else it is still starting). */
  wasReady = true;
  /** Set when veer's own drain bound cut this target's in-flight requests (they are not its errors). */
  cut = false;

  constructor(
    address: TargetAddress,
    opts: UpstreamOptions,
    /** Its key in the UpstreamSet: service, target and connection options (see keyOf). */
    readonly key: string = address.id,
  ) {
    this.address = address;
    this.protocol = opts.protocol ?? 'http1';
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    const h2c = this.protocol === 'h2c';
    this.pool = new Pool(`http://${host}:${address.port}`, {
      connections: opts.connections,
      // Pipelining above 1 is unsafe in a proxy over HTTP/1.1: one aborted request would abort the
      // others. HTTP/2 streams are independent (an abort resets one stream), so h2c multiplexes.
      pipelining: h2c ? H2C_STREAMS : 1,
      keepAliveTimeout: opts.idleTimeout,
      keepAliveMaxTimeout: opts.idleTimeout,
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
      ...(h2c ? { allowH2: true, maxConcurrentStreams: H2C_STREAMS } : {}),
      connect: { timeout: opts.connectTimeout, noDelay: true, ...(h2c ? { useH2c: true } : {}) },
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
  /** By key: service, target id and connection options (see keyOf). */
  private readonly byKey = new Map<string, Upstream>();
  /** Released upstreams still finishing their in-flight requests, by key. */
  private readonly closing = new Map<string, { upstream: Upstream; done: Promise<void> }>();

  constructor(private readonly opts: UpstreamOptions) {}

  /**
   * One upstream per service and target: a target two services share has an outlier streak, a health
   * verdict and connection options per service, so one service's stricter timeouts or policy never
   * ejects it for the other. A promotion within a service keeps the same upstream.
   */
  keyOf(service: string, a: TargetAddress, o: UpstreamOverrides = {}): string {
    const connect = o.connectTimeout ?? this.opts.connectTimeout;
    const idle = o.idleTimeout ?? this.opts.idleTimeout;
    return `${service}/${a.id}#${connect}/${idle}${o.protocol === 'h2c' ? '/h2c' : ''}`;
  }

  acquire(service: string, addresses: readonly TargetAddress[], o: UpstreamOverrides = {}): Upstream[] {
    return addresses.map((a) => {
      const key = this.keyOf(service, a, o);
      let u = this.byKey.get(key);
      if (!u) {
        u = new Upstream(a, { ...this.opts, ...o }, key);
        this.byKey.set(key, u);
      }
      return u;
    });
  }

  /** Closes (gracefully: in-flight requests finish) every upstream whose key is not in `inUse`. */
  release(inUse: ReadonlySet<string>): void {
    for (const [key, u] of this.byKey) {
      if (inUse.has(key)) continue;
      this.byKey.delete(key);
      const done = u.close().finally(() => {
        if (this.closing.get(key)?.upstream === u) this.closing.delete(key);
      });
      this.closing.set(key, { upstream: u, done });
    }
  }

  /**
   * Waits (at most `timeoutMs`) for released targets to finish their in-flight requests, then cuts
   * what is left. A target still routed (e.g. shared with another pool) is not waited for.
   */
  async drain(ids: readonly string[], timeoutMs: number): Promise<{ drained: boolean; cut: number }> {
    const wanted = new Set(ids);
    const pending = [...this.closing.values()].filter((c) => wanted.has(c.upstream.address.id));
    if (pending.length === 0) return { drained: true, cut: 0 };
    if (await settledWithin(Promise.all(pending.map((p) => p.done)), timeoutMs)) return { drained: true, cut: 0 };
    let cut = 0;
    for (const p of pending) {
      cut += p.upstream.outstanding;
      p.upstream.cut = true;
      await p.upstream.pool.destroy().catch(() => undefined);
    }
    return { drained: false, cut };
  }

  /** False once the upstream was released (no routing table uses it any more). */
  isLive(u: Upstream): boolean {
    return this.byKey.get(u.key) === u;
  }

  all(): Upstream[] {
    return [...this.byKey.values()];
  }

  async closeAll(): Promise<void> {
    const all = this.all();
    this.byKey.clear();
    await Promise.all(all.map((u) => u.close()));
  }
}
