// Every service's per-second history (series.ts), filled once a second from a SecondSource: this
// replica's own windows when it is alone, the replicas' sum in Redis when they share it (so every
// replica shows the figures the judge sees). It reads a second only once it has settled, i.e. once
// every replica has flushed it, and catches up at most MAX_CATCH_UP seconds per tick, so a stall
// costs gaps in the charts, never a burst of reads.
import type { Clock } from '../domain/clock.js';
import { settledSecond } from '../domain/second.js';
import { errorMessage } from '../domain/errors.js';
import { silentLogger, type Logger } from '../domain/log.js';
import type { PoolName } from '../domain/pool.js';
import { SeriesRing, SERIES_SECONDS } from './series.js';
import type { WindowTotals } from './totals.js';

export type SecondTotals = Record<PoolName, Pick<WindowTotals, 'requests' | 'errors' | 'latency'>>;

/** Where settled seconds come from; owned here, filled in by the wiring. */
export interface SecondSource {
  /** How long after a second ends its figures are complete (when the book looks). */
  readonly settleMs: number;
  /** The newest second that is whole at `nowMs`, when the source knows it (workers, Redis); else settleMs says. */
  lastComplete?(nowMs: number): number | Promise<number>;
  readonly kind: 'local' | 'merged';
  /** Both pools of each service for one second, in one round trip; rejects when it cannot answer. */
  seconds(services: readonly string[], sec: number): Promise<Map<string, SecondTotals>>;
}

export const MAX_CATCH_UP = 5;

export interface SeriesBookOptions {
  source: SecondSource;
  clock: Clock;
  /** The service names now (a reload changes them). */
  services: () => readonly string[];
  log?: Logger;
  seconds?: number;
}

export class SeriesBook {
  private readonly rings = new Map<string, SeriesRing>();
  private readonly listeners = new Set<(sec: number) => void>();
  private done = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  private busy = false;
  private failing = false;

  constructor(private readonly o: SeriesBookOptions) {}

  get kind(): SecondSource['kind'] {
    return this.o.source.kind;
  }

  /** The newest second recorded (null before the first). */
  get newest(): number | null {
    return this.done === -Infinity ? null : this.done;
  }

  ring(service: string): SeriesRing | undefined {
    return this.rings.get(service);
  }

  /** Called after each recorded second; returns the unsubscribe function. */
  onSecond(listener: (sec: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Records every settled second not yet recorded (at most MAX_CATCH_UP); false when the source failed. */
  async tick(): Promise<boolean> {
    if (this.busy) return true;
    this.busy = true;
    try {
      const now = this.o.clock.now();
      const target = (await this.o.source.lastComplete?.(now)) ?? settledSecond(now, this.o.source.settleMs);
      const names = this.o.services();
      this.forgetRemoved(names);
      for (let sec = Math.max(this.done + 1, target - MAX_CATCH_UP + 1); sec <= target; sec++) {
        await this.record(names, sec);
      }
      this.recovered();
      return true;
    } catch (e) {
      this.failed(e);
      return false;
    } finally {
      this.busy = false;
    }
  }

  /** Ticks just after each second settles; the timer never keeps the process alive. */
  start(): void {
    if (this.timer) return;
    const schedule = (): void => {
      const now = this.o.clock.now();
      const next = Math.floor((now - this.o.source.settleMs) / 1000 + 1) * 1000 + this.o.source.settleMs + 10;
      this.timer = setTimeout(
        () => {
          void this.tick().finally(() => {
            if (this.timer !== null) schedule();
          });
        },
        Math.max(1, next - now),
      );
      this.timer.unref();
    };
    schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async record(names: readonly string[], sec: number): Promise<void> {
    const seconds = await this.o.source.seconds(names, sec);
    for (const name of names) {
      const totals = seconds.get(name);
      if (!totals) continue;
      let ring = this.rings.get(name);
      if (!ring) this.rings.set(name, (ring = new SeriesRing(this.o.seconds ?? SERIES_SECONDS)));
      ring.put(sec, totals);
    }
    this.done = sec;
    for (const l of this.listeners) l(sec);
  }

  private forgetRemoved(names: readonly string[]): void {
    if (names.length === this.rings.size && names.every((n) => this.rings.has(n))) return;
    const keep = new Set(names);
    for (const name of this.rings.keys()) if (!keep.has(name)) this.rings.delete(name);
  }

  private recovered(): void {
    if (this.failing) (this.o.log ?? silentLogger).log('info', 'dashboard series recovered', {});
    this.failing = false;
  }

  private failed(e: unknown): void {
    // One line per outage: the charts show the gap.
    if (!this.failing)
      (this.o.log ?? silentLogger).log('warn', 'dashboard series: a second could not be read', {
        error: errorMessage(e),
      });
    this.failing = true;
  }
}
