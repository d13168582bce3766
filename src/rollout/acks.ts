// Acknowledgements of routing, kept in the store: after applying a service's route (and after its
// own drain of targets being removed), each replica writes which targets it still routes or drains.
// Before a pool's containers are stopped, the leader waits until every live replica's
// acknowledgement excludes them - bounded, so a replica that cannot answer delays a removal but
// never blocks it (the leader then proceeds and says so).
import { systemMonotonic, type Monotonic } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { StateStore } from '../store/port.js';
import type { ChangeFeed } from './records.js';

export interface Ack {
  /** Targets this replica routes to (either pool). */
  routed: string[];
  /** Targets it took out of routing whose in-flight requests it is still draining. */
  draining: string[];
  /** The replica's clock when written (for operators reading the store). */
  at: string;
}

export const ackPrefix = (service: string): string => `ack/${service}/`;

/** Backstop for a lost notification while waiting. */
const RECHECK_MS = 200;
/**
 * An acknowledgement of a replica no longer live, written this long ago, is removed by the leader's next wait:
 * a replica that was killed never removed its own, and each start has a new id, so they would pile up.
 */
export const STALE_ACK_MS = 3_600_000;

export interface AcksDeps {
  store: StateStore;
  self: string;
  /** Ids of the replicas alive now (this one included). */
  live(): Promise<string[]>;
  feed?: ChangeFeed;
  log: Logger;
  /** Wall time: the acknowledgements' dates, compared across replicas. */
  now(): number;
  /** The wait's own bound (default performance.now): a wall clock stepped forward must not cut a drain short. */
  monotonic?: Monotonic;
}

export type AckWait = { clear: true } | { clear: false; pending: string[] };

export class RouteAcks {
  private readonly wakers = new Set<() => void>();
  private readonly written = new Set<string>();

  constructor(private readonly d: AcksDeps) {
    d.feed?.onChange((key) => {
      if (key.startsWith('ack/')) this.wake();
    });
  }

  async publish(service: string, routed: readonly string[], draining: readonly string[]): Promise<void> {
    const ack: Ack = { routed: [...routed], draining: [...draining], at: new Date(this.d.now()).toISOString() };
    const key = `${ackPrefix(service)}${this.d.self}`;
    try {
      await this.d.store.put(key, ack);
      this.written.add(key);
    } catch (e) {
      // The leader's wait is bounded: a lost acknowledgement costs time, not safety of the others.
      this.d.log.log('warn', 'could not acknowledge routing', { service, error: errorMessage(e) });
    }
    this.wake();
  }

  /** Waits until no live replica routes or drains any of `targets`, for `waitMs` at most. */
  async waitClear(service: string, targets: readonly string[], waitMs: number): Promise<AckWait> {
    const clock = this.d.monotonic ?? systemMonotonic;
    const deadline = clock.now() + waitMs;
    await this.prune(service).catch((e: unknown) =>
      this.d.log.log('warn', 'could not remove stale acknowledgements', { service, error: errorMessage(e) }),
    );
    const gone = new Set(targets);
    for (let round = 0; ; round++) {
      const pending = await this.pending(service, gone).catch((e: unknown) => [`(store: ${errorMessage(e)})`]);
      if (pending.length === 0) return { clear: true };
      const left = deadline - clock.now();
      if (left <= 0 || round > 100_000) return { clear: false, pending };
      await this.changed(Math.min(left, RECHECK_MS));
    }
  }

  /** Removes this replica's acknowledgements (it is leaving; the others stop waiting for it). */
  async forget(): Promise<void> {
    for (const key of this.written) await this.d.store.delete(key).catch(() => undefined);
    this.written.clear();
  }

  /** Removes the acknowledgements of replicas not live whose last one is older than STALE_ACK_MS. */
  private async prune(service: string): Promise<void> {
    const live = new Set(await this.d.live());
    const prefix = ackPrefix(service);
    for (const key of await this.d.store.keys(prefix)) {
      if (live.has(key.slice(prefix.length))) continue;
      const at = Date.parse((await this.d.store.get<Ack>(key))?.value.at ?? '');
      if (!(this.d.now() - at < STALE_ACK_MS)) await this.d.store.delete(key);
    }
  }

  private async pending(service: string, gone: ReadonlySet<string>): Promise<string[]> {
    const out: string[] = [];
    for (const id of await this.d.live()) {
      const rec = await this.d.store.get<Ack>(`${ackPrefix(service)}${id}`);
      const a = rec?.value;
      if (a === undefined || [...a.routed, ...a.draining].some((t) => gone.has(t))) out.push(id);
    }
    return out;
  }

  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }
}
