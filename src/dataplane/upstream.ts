// One upstream target's runtime: its connection pool plus the balancer and health state. HTTP/1.1
// targets are served by veer's own client (http1/upstream-pool.ts) unless `proxy.upstreamClient` is
// undici; h2c targets always by undici's HTTP/2 client.
// Upstreams are kept by (service, target) across routing-table swaps so a weight change or a
// promotion never drops connections or resets outstanding counts.
import { Pool, type Dispatcher } from 'undici';
import { maxHeaderSize } from 'node:http';
import { UpstreamPool } from './http1/upstream-pool.js';
import type { Dispatched, UpstreamHandler } from './http1/upstream-call.js';
import type { Config } from '../config/schema.js';
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
  /** Who speaks HTTP/1.1 to the target: veer's own client, or undici's (`proxy.upstreamClient`). */
  client?: UpstreamClient;
}

export type UpstreamClient = 'lean' | 'undici';

/** The proxy-wide options of every target's pool (a service may override some: UpstreamOverrides). */
export function upstreamOptionsOf(p: Config['proxy']): UpstreamOptions {
  const t = p.timeouts;
  return {
    connectTimeout: t.connect,
    idleTimeout: t.upstreamIdle,
    connections: p.connectionsPerTarget,
    headersTimeout: t.header,
    bodyTimeout: t.body,
    client: p.upstreamClient,
  };
}

/** What the exchange dispatches to, whichever client serves the target. */
export interface TargetPool {
  dispatch(d: Dispatcher.DispatchOptions & Dispatched, handler: Dispatcher.DispatchHandler & UpstreamHandler): boolean;
  close(): Promise<void>;
  destroy(): Promise<void>;
}

export type UpstreamProtocol = 'http1' | 'h2c';

/** HTTP/2 streams one upstream connection carries at once (undici's h2c default). */
const H2C_STREAMS = 100;

/** What a service may set for itself (per-service `timeouts`, `upstream.protocol`); the rest is the proxy's. */
export type UpstreamOverrides = Partial<Pick<UpstreamOptions, 'connectTimeout' | 'idleTimeout' | 'protocol'>>;

export class Upstream implements BalancedTarget {
  readonly address: TargetAddress;
  readonly pool: TargetPool;
  readonly protocol: UpstreamProtocol;
  /** What health probes go through: the undici pool itself, or one of their own beside veer's client. */
  private probes: Pool | null = null;
  private readonly origin: string;
  private readonly opts: UpstreamOptions;
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
    this.opts = opts;
    const host = address.host.includes(':') ? `[${address.host}]` : address.host;
    this.origin = `http://${host}:${address.port}`;
    if (this.protocol === 'http1' && opts.client !== 'undici') {
      const { connections, idleTimeout, connectTimeout } = opts;
      const at = { host: address.host, port: address.port };
      this.pool = new UpstreamPool({ ...at, connections, idleTimeout, connectTimeout, maxHeaderSize });
    } else {
      this.probes = undiciPool(this.origin, opts, this.protocol === 'h2c');
      this.pool = this.probes as unknown as TargetPool;
    }
  }

  /** The pool health probes use (undici's request API). */
  probePool(): Pool {
    this.probes ??= undiciPool(this.origin, { ...this.opts, connections: 1 }, false);
    return this.probes;
  }

  async close(): Promise<void> {
    const probes = this.probes !== (this.pool as unknown) ? this.probes : null;
    await Promise.all([closeGently(this.pool), probes === null ? undefined : closeGently(probes)]);
  }
}

async function closeGently(p: { close(): Promise<void>; destroy(): Promise<void> }): Promise<void> {
  try {
    await p.close();
  } catch {
    await p.destroy().catch(() => undefined);
  }
}

function undiciPool(origin: string, opts: UpstreamOptions, h2c: boolean): Pool {
  return new Pool(origin, {
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

  /** The live upstream of a key (keyOf), if any. */
  get(key: string): Upstream | undefined {
    return this.byKey.get(key);
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
