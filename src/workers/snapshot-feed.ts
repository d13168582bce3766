// The primary's side of "one snapshot": every change of its data plane is sent to every started
// worker, coalesced to at most one per tick and only when it differs from the last one sent, as a
// delta against it (snapshot-diff.ts; a worker that starts gets the whole snapshot); each worker
// acknowledges the version it applied and when it applied it, and the lag (sent → the last worker
// applying it) of the newest change every worker has acknowledged is kept for /metrics
// and GET /v1/workers. The lag ends when the change took effect, not when the primary heard so: on a busy
// host the primary may read an ack tens of milliseconds after the worker routed by the change.
import type { PlaneSnapshot } from '../dataplane/plane-snapshot.js';
import type { ToWorker } from './messages.js';
import { SnapshotDiff } from './snapshot-diff.js';

export interface Recipient {
  /** Has been sent its first snapshot (with `start`): it gets every later one. */
  started: boolean;
  /** The newest snapshot version it acknowledged. */
  acked: number;
  /** When it applied that version, on the feed's clock (host-time.ts); 0 before its first. */
  appliedAt: number;
  send(msg: ToWorker): void;
}

/** Versions sent and not yet acknowledged by everyone are remembered up to this many. */
const MAX_OUTSTANDING = 256;

export class SnapshotFeed {
  private version = 0;
  private readonly diff = new SnapshotDiff();
  /** The state the last flush compared (current() hands it to a starting worker). */
  private latest: PlaneSnapshot | null = null;
  private scheduled = false;
  private readonly sentAt = new Map<number, number>();
  private lag: number | null = null;

  constructor(
    private readonly take: () => PlaneSnapshot,
    private readonly recipients: () => Iterable<Recipient>,
    /** Monotonic milliseconds that the workers' `appliedAt` are read on (host-time.ts). */
    private readonly now: () => number,
  ) {}

  /** A change happened: one snapshot goes out at the end of this tick, whatever else changes in it. */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** Sends the data plane's state now if it changed (a drain must reach workers after the route it follows). */
  flush(timed = true): void {
    this.latest = this.take();
    const delta = this.diff.next(this.latest);
    if (delta === null) return;
    const base = this.version++;
    const to = [...this.recipients()].filter((r) => r.started);
    // A change nobody receives yet (before the first worker started) is no lag.
    if (timed && to.length > 0) this.sentAt.set(this.version, this.now());
    for (const v of this.sentAt.keys()) if (this.sentAt.size > MAX_OUTSTANDING) this.sentAt.delete(v);
    for (const r of to) r.send({ type: 'delta', base, version: this.version, delta });
  }

  /**
   * The whole current state, for a worker that starts now (its start is not a lag; mark it `started`
   * after this call, so the change sent meanwhile is not sent to it too) or one that lost its place.
   */
  current(): { version: number; snapshot: PlaneSnapshot } {
    this.flush(false);
    return { version: this.version, snapshot: this.latest as PlaneSnapshot };
  }

  acked(r: Recipient, version: number, appliedAt: number): void {
    if (version >= r.acked) [r.acked, r.appliedAt] = [version, appliedAt];
    this.settle();
  }

  /** Versions every started recipient has acknowledged give the lag (also when one went away). */
  settle(): void {
    const started = [...this.recipients()].filter((r) => r.started);
    const low = started.length === 0 ? this.version : Math.min(...started.map((r) => r.acked));
    // Each one applied `low` or a later version by its appliedAt: the latest of them is when the change
    // reached the last worker (a later version's time when one came meanwhile: never less than the truth).
    const reached = Math.max(0, ...started.map((r) => r.appliedAt));
    for (const [v, at] of this.sentAt) {
      if (v > low) break;
      this.lag = Math.max(0, reached - at);
      this.sentAt.delete(v);
    }
  }

  get currentVersion(): number {
    return this.version;
  }

  /** Milliseconds from sending the newest change every worker applied to the last worker applying it. */
  get lagMs(): number | null {
    return this.lag;
  }
}
