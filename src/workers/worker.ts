// A worker: one data-plane process of `workers: N`. It routes from the primary's snapshots (no health
// checks or readiness probes of its own; passive outlier ejection stays its own), takes the connections the
// primary accepts (handout.ts) once its first snapshot is applied, reports its metrics once a second, drains and closes
// when the primary asks. Everything else (admin API, rollouts, store, Docker) runs in the primary.
import { Socket } from 'node:net';
import type { Config } from '../config/schema.js';
import { DataPlane } from '../dataplane/dataplane.js';
import type { PlaneSnapshot } from '../dataplane/plane-snapshot.js';
import type { Clock } from '../domain/clock.js';
import { assertNever, errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import { LoopDelay } from '../metrics/loop-delay.js';
import { LatenessHistogram } from '../metrics/loop-lateness.js';
import { MetricsRegistry } from '../metrics/registry.js';
import { replaceCertificates } from '../wiring/certificates.js';
import { parseMessage, toWorkerSchema, type ToPrimary, type ToWorker } from './messages.js';
import { everySecond, MetricsShipper } from './metrics-ship.js';
import { readGauges } from './worker-gauges.js';
import { hostNowMs } from './host-time.js';

/** How this worker talks to its primary (process.send in a cluster worker). */
export interface PrimaryPort {
  send(msg: ToPrimary, sent?: () => void): void;
}

type Msg<T extends ToWorker['type']> = Extract<ToWorker, { type: T }>;

export class DataWorker {
  private plane: DataPlane | null = null;
  private shipper: MetricsShipper | null = null;
  private loopDelay: LoopDelay | null = null;
  private stopShipping: () => void = () => undefined;
  private closing: Promise<void> | null = null;
  /** The snapshot version routed by, and whether the whole snapshot was asked for. */
  private version = 0;
  private resyncing = false;
  /** Connections it took and that are still open: the primary hands the next one to the worker with the fewest. */
  private connections = 0;
  /** proxy.timeouts.shutdown once started: the grace of a close the primary did not ask for. */
  private graceMs = 10_000;
  private readonly done: Promise<number>;
  private finish: (code: number) => void = () => undefined;

  constructor(
    private readonly primary: PrimaryPort,
    private readonly deps: { clock: Clock; log: Logger },
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
  }

  /** Says hello (the primary answers with `start`); resolves with the exit code once closed. */
  run(): Promise<number> {
    this.primary.send({ type: 'hello' });
    return this.done;
  }

  /** A message from the primary; `socket`: the connection that comes with a `conn`. */
  handle(raw: unknown, socket?: unknown): void {
    const parsed = parseMessage(toWorkerSchema, raw);
    if (!parsed.ok) {
      this.deps.log.log('warn', 'malformed message from the primary dropped', { why: parsed.why });
      return;
    }
    const m = parsed.msg;
    switch (m.type) {
      case 'start':
        return void this.start(m);
      case 'snapshot':
        return void this.apply(m.version, m.snapshot);
      case 'delta':
        return this.applyDelta(m);
      case 'access-log':
        return void this.plane?.accessLog.configure(m.accessLog);
      case 'certificates':
        return void this.certificates(m.config);
      case 'conn':
        return this.take(m, socket);
      case 'drain':
        return void this.drain(m);
      case 'reopen':
        return this.reopen();
      case 'close':
        return void this.close(m.graceMs);
      default:
        assertNever(m, 'message');
    }
  }

  /** Graceful: stop accepting, finish in-flight requests within `graceMs`, report, exit 0. */
  close(graceMs: number): Promise<void> {
    this.closing ??= this.closeNow(graceMs);
    return this.closing;
  }

  /** A close the primary did not ask for (it went away, or SIGTERM reached this process). */
  shutdown(): Promise<void> {
    return this.close(this.graceMs);
  }

  /** The access log's file output reopened (SIGUSR1 sent to this process itself). */
  reopen(): void {
    this.plane?.accessLog.reopen();
  }

  private async start(m: Msg<'start'>): Promise<void> {
    if (this.plane !== null) return;
    this.graceMs = m.config.proxy.timeouts.shutdown;
    const metrics = new MetricsRegistry();
    const { clock, log } = this.deps;
    const plane = new DataPlane(m.config, { clock, log, metrics, random: Math.random, probes: false });
    this.plane = plane;
    try {
      // A worker that cannot route by the primary's snapshot takes no connection: its start fails.
      const refused = this.apply(m.version, m.snapshot);
      if (refused !== null) throw new Error(`the routing snapshot could not be applied: ${refused}`);
      await plane.listenTls(m.tls ?? undefined);
      this.shipper = new MetricsShipper(metrics, plane.answers);
      this.loopDelay = new LoopDelay();
      this.stopShipping = everySecond(
        () => clock.now(),
        () => this.ship(false),
      );
      this.primary.send({ type: 'listening' });
    } catch (e) {
      this.primary.send({ type: 'failed', error: errorMessage(e) }, () => this.finish(1));
    }
  }

  /**
   * A delta applies only on top of the version it was taken against. The channel keeps order, so another
   * base means a message was lost or skipped: the whole snapshot is asked for once, and routing stays as
   * it is until it comes.
   */
  private applyDelta(m: Msg<'delta'>): void {
    if (this.plane === null || this.resyncing) return;
    let why = 'out of order';
    if (m.base === this.version) {
      const plane = this.plane;
      const refused = this.guarded(() => (plane.applySnapshot(m.delta) ? null : 'names a service this worker lacks'));
      if (refused === null) return this.applied(m.version);
      why = refused;
    }
    this.resyncing = true;
    this.deps.log.log('warn', `routing change not applied (${why}); asking for the whole snapshot`, {
      ...{ have: this.version, base: m.base },
    });
    this.primary.send({ type: 'resync', have: this.version, got: m.version });
  }

  /** Null once applied, else why not (the routes stay as they were). */
  private apply(version: number, snapshot: PlaneSnapshot): string | null {
    const plane = this.plane;
    if (plane === null) return 'not started';
    // One that could not be applied leaves the version as it was: the next delta asks again.
    this.resyncing = false;
    const refused = this.guarded(() => (plane.applySnapshot(snapshot), null));
    if (refused === null) this.applied(version);
    else
      this.deps.log.log('error', 'routing snapshot not applied whole; the next change asks again', {
        version,
        error: refused,
      });
    return refused;
  }

  /**
   * Runs an apply, its throw (a bug, or a change this build cannot route) as its refusal. Every worker gets the
   * same change: were it to end them all at once, the port would close with the last (Node's round-robin).
   */
  private guarded(apply: () => string | null): string | null {
    try {
      return apply();
    } catch (e) {
      return `it threw: ${errorMessage(e)}`;
    }
  }

  private applied(version: number): void {
    this.version = version;
    // The change reached this worker now: its traffic routes by it from here on (the primary hears later).
    this.primary.send({ type: 'ack', version, appliedAt: hostNowMs() });
  }

  private async certificates(config: Config): Promise<void> {
    if (this.plane === null) return;
    await replaceCertificates(this.plane, config).catch((e: unknown) =>
      this.deps.log.log('warn', 'certificates not replaced', { error: errorMessage(e) }),
    );
  }

  /**
   * Says it took the connection before anything reads it: were this worker to die after reading some of its
   * bytes, the primary must not hand it to another one (which would answer from the middle of its stream).
   * A closing worker declines it, unread, and the primary hands it to another.
   */
  private take(m: Msg<'conn'>, socket: unknown): void {
    const s = socket instanceof Socket ? socket : null;
    const plane = this.closing === null && s !== null ? this.plane : null;
    if (plane === null) {
      this.primary.send({ type: 'declined', id: m.id });
      // Only this process's descriptor closes: the primary's copy keeps the connection open.
      return void s?.destroy();
    }
    this.connections++;
    (s as Socket).once('close', () => this.connections--);
    this.primary.send({ type: 'took', id: m.id, connections: this.connections });
    plane.adopt(m.port, s as Socket);
  }

  private async drain(m: Msg<'drain'>): Promise<void> {
    const r = this.plane ? await this.plane.drain(m.ids, m.timeoutMs) : { drained: true, cut: 0, tunnels: 0 };
    this.primary.send({ type: 'drained', id: m.id, ...r });
  }

  private ship(last: boolean): void {
    const report = this.shipper?.take(this.deps.clock.now(), last);
    if (report !== undefined) this.primary.send({ type: 'metrics', ...report });
    if (this.plane === null) return;
    const delay = this.loopDelay;
    // Before its loop monitor started (a worker that failed to listen): no samples yet.
    const lateness = delay?.lateness() ?? new LatenessHistogram().counts();
    const gauges = readGauges(this.plane, delay?.quantiles() ?? null, lateness);
    this.primary.send({ type: 'gauges', ...gauges, connections: this.connections });
  }

  private async closeNow(graceMs: number): Promise<void> {
    // Seconds are shipped on while requests drain: the primary stops waiting for a silent worker after a few
    // seconds (shipped-seconds.ts), and what is reported after its flusher passed a second never reaches Redis.
    const closed = this.plane ? await this.plane.close(graceMs) : { drained: true, abandoned: 0 };
    this.stopShipping();
    this.loopDelay?.close();
    // The last requests' seconds, the current one too: nothing is shipped after this.
    this.ship(true);
    this.primary.send({ type: 'closed', ...closed }, () => this.finish(0));
  }
}
