// The primary of `workers: N`: holds the listeners and hands each connection to a worker (handout.ts: the
// port stays open while workers die and come back), forks the data-plane processes (node:cluster), starts
// each one with the config and the current snapshot, replaces one that exits unasked (backing off while it
// crash-loops), and closes them all on shutdown. The snapshots, metrics and questions go through their own
// parts.
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import type { Config } from '../config/schema.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import { named } from '../dataplane/listen-on.js';
import type { Clock } from '../domain/clock.js';
import { withTimeout } from '../domain/async.js';
import type { Logger } from '../domain/log.js';
import type { MetricsRegistry } from '../metrics/registry.js';
import { Handout } from './handout.js';
import { Member, restartDelay } from './member.js';
import { mergeReport } from './metrics-merge.js';
import { parseMessage, toPrimarySchema, type ToPrimary } from './messages.js';
import { Replies } from './replies.js';
import { ShippedSeconds } from './shipped-seconds.js';
import { SnapshotFeed } from './snapshot-feed.js';
import { hostNowMs } from './host-time.js';
import { WorkerGaugeSum } from './worker-gauges.js';

export interface WorkerPoolDeps {
  count: number;
  config: Config;
  plane: DataPlane;
  metrics: MetricsRegistry;
  clock: Clock;
  log: Logger;
}

type Msg<T extends ToPrimary['type']> = Extract<ToPrimary, { type: T }>;
export type Drained = Omit<Msg<'drained'>, 'type' | 'id'>;
type Listening = { data: AddressInfo; tls: AddressInfo | null };

/** The first workers must start within this; a replacement is not waited for. */
const START_TIMEOUT_MS = 30_000;
/** Connections waiting for a worker at once (while every one restarts); more are closed as they come. */
const MAX_WAITING = 4_096;

export class WorkerPool {
  readonly members = new Map<number, Member>();
  readonly feed: SnapshotFeed;
  readonly drains = new Replies<Drained>();
  /** The listeners: every connection is accepted here and handed to a worker. */
  readonly handout: Handout;
  /** The workers' latest gauges, added to the primary's own by /metrics. */
  readonly gauges = new WorkerGaugeSum();
  /** Which seconds every worker has shipped: when a finished second is whole in the primary's windows. */
  readonly shipped = new ShippedSeconds();
  config: Config;
  restarts = 0;
  private closing = false;
  private backoffMs = 0;
  private restartTimer: NodeJS.Timeout | null = null;
  private firstListen: (() => void) | null = null;
  /** Where the primary listens for TLS: a worker serves what it hands out as that port's (redirects name it). */
  private tlsBound: AddressInfo | null = null;
  private firstFailure: ((why: string) => void) | null = null;

  constructor(private readonly d: WorkerPoolDeps) {
    this.config = d.config;
    this.feed = new SnapshotFeed(
      () => d.plane.snapshot(),
      () => this.members.values(),
      hostNowMs,
    );
    d.plane.onChange(() => this.feed.schedule());
    // A connection waits for a worker as long as a client may take to send its head, which it cannot before.
    const waitMs = d.config.proxy.timeouts.clientHeader || 20_000;
    // A worker that takes no connection for as long is stopped (SIGSTOP) or its loop is blocked: it answers
    // nothing, and the connection in its hand would wait for it unbounded.
    const stuck = (id: number): void => this.stuck(id, waitMs);
    const now = (): number => performance.now();
    this.handout = new Handout({ waitMs, maxWaiting: MAX_WAITING, stuckMs: waitMs, stuck, now, log: d.log });
  }

  /** Binds the listeners, forks every worker; resolves once all of them started (the addresses), bounded. */
  async start(): Promise<Listening> {
    const { listen, tls } = this.config;
    const data = await named('listen', this.handout.listen('data', listen.host, listen.port));
    this.tlsBound = tls
      ? await named('tls.listen', this.handout.listen('tls', tls.listen.host, tls.listen.port))
      : null;
    // Structured clone: the config's parsed values (typed arrays, nested objects) travel as they are.
    cluster.setupPrimary({ serialization: 'advanced' });
    cluster.on('exit', (w, code, signal) => this.exited(w, code, signal));
    let listening = 0;
    const all = new Promise<void>((resolve, reject) => {
      this.firstListen = () => void (++listening === this.d.count && resolve());
      this.firstFailure = (why) => reject(new Error(`a worker could not start: ${why}`));
    });
    for (let i = 0; i < this.d.count; i++) this.fork();
    try {
      await withTimeout(all, START_TIMEOUT_MS, `${this.d.count} workers to start`);
      return { data, tls: this.tlsBound };
    } finally {
      this.firstListen = this.firstFailure = null;
    }
  }

  /** A reload's new `listen`: the new listener accepts first, then the old one stops (its connections live on). */
  async rebind(at: Config['listen']): Promise<AddressInfo> {
    const data = await this.handout.listen('data', at.host, at.port);
    this.config = { ...this.config, listen: at };
    return data;
  }

  /** Asks every worker to close gracefully (`graceMs`), waits for their exits (bounded), then kills what is left. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    // New connections are refused from here on; the ones in the workers' hands finish there.
    this.handout.close();
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const members = [...this.members.values()];
    for (const m of members) m.ask({ type: 'close', graceMs });
    const exits = Promise.all(members.map((m) => m.exit));
    const closed = withTimeout(exits, graceMs + 5_000, 'workers to close');
    if (await closed.then(yes, no)) return;
    for (const m of members) m.kill();
    await withTimeout(exits, 2_000, 'workers to exit after SIGKILL').catch(() => undefined);
  }

  /** Sends `msg` to every started worker. */
  broadcast(msg: Parameters<Member['send']>[0]): void {
    for (const m of this.members.values()) if (m.started) m.send(msg);
  }

  started(): Member[] {
    return [...this.members.values()].filter((m) => m.started);
  }

  private fork(): void {
    const w = cluster.fork();
    const m = new Member(w, this.d.clock.now());
    this.members.set(w.id, m);
    this.shipped.joined(m.id, m.startedAt);
    w.on('message', (raw: unknown) => this.received(m, raw));
    // Once its channel is closed too (its exit may come first): a `took` it sent last has been read. Not on
    // 'disconnect': Node holds that back while a connection it was handed waits for the worker's receipt.
    w.process.once('close', () => this.handout.gone(m.id));
    // An IPC error (the worker died mid-send) is its exit's business, not a crash of the primary.
    w.on('error', (e) => this.d.log.log('warn', 'worker channel error', { pid: m.pid, error: e.message }));
  }

  private received(m: Member, raw: unknown): void {
    const parsed = parseMessage(toPrimarySchema, raw);
    if (!parsed.ok)
      return this.d.log.log('warn', 'malformed message from a worker dropped', { pid: m.pid, why: parsed.why });
    const msg = parsed.msg;
    switch (msg.type) {
      case 'hello': {
        // Forked before a close began (a replacement), it says hello after: it closes instead of starting. The
        // close sent to it before it listened for messages is lost (Node drops what comes before a listener).
        if (this.closing) return m.ask({ type: 'close', graceMs: 0 });
        const current = this.feed.current();
        m.started = true;
        return m.send({ type: 'start', config: this.config, tls: this.tlsBound, ...current });
      }
      case 'resync':
        this.d.log.log('warn', 'worker lost its place in the routing changes; sending the whole snapshot', {
          ...{ pid: m.pid, have: msg.have, got: msg.got },
        });
        return m.send({ type: 'snapshot', ...this.feed.current() });
      case 'listening':
        m.listening = true;
        this.d.log.log('info', 'worker listening', { pid: m.pid });
        this.handout.ready(m.id, m);
        return this.firstListen?.();
      case 'took':
        m.connections = msg.connections;
        return this.handout.took(m.id, msg.id, m);
      case 'declined':
        return this.handout.declined(m.id, msg.id);
      case 'failed':
        this.d.log.log('error', 'worker could not start', { pid: m.pid, error: msg.error });
        // The first start fails as a whole (veer does not start); a replacement keeps being retried.
        if (this.firstFailure) m.asked = true;
        return this.firstFailure?.(msg.error);
      case 'ack':
        return this.feed.acked(m, msg.version, msg.appliedAt);
      case 'metrics':
        this.merge(m, msg);
        return this.shipped.shipped(m.id, msg.through);
      case 'gauges':
        m.connections = msg.connections;
        return this.gauges.update(m.id, msg);
      case 'drained':
        return this.drains.answer(msg.id, m.id, msg);
      case 'closed':
        return this.d.log.log(msg.drained ? 'info' : 'warn', 'worker closed', {
          pid: m.pid,
          drained: msg.drained,
          abandoned: msg.abandoned,
        });
      default:
        return assertNeverMessage(msg);
    }
  }

  private merge(m: Member, report: Msg<'metrics'>): void {
    const { metrics: registry, plane } = this.d;
    const known = (s: string): boolean => plane.serviceConfig(s) !== undefined;
    const refused = mergeReport(report, { registry, answers: plane.answers, known });
    if (refused > 0) this.d.log.log('warn', 'worker seconds not merged', { pid: m.pid, refused });
  }

  /** Ended with SIGKILL (a stopped process takes no other signal); replaced as a worker that exited unasked. */
  private stuck(id: number, waitedMs: number): void {
    const m = this.members.get(id);
    if (m === undefined) return;
    const fields = { pid: m.pid, waitedMs };
    this.d.log.log('error', 'worker stuck: it has not taken a connection handed to it; killing it', fields);
    m.kill();
  }

  private exited(w: Worker, code: number | null, signal: string | null): void {
    const m = this.members.get(w.id);
    if (m === undefined) return;
    this.members.delete(w.id);
    m.exited();
    this.drains.gone(m.id);
    this.gauges.gone(m.id);
    this.shipped.gone(m.id);
    this.feed.settle();
    if (this.closing || m.asked) return;
    this.restarts++;
    this.backoffMs = restartDelay(this.backoffMs, this.d.clock.now() - m.startedAt);
    this.d.log.log('warn', 'worker exited unasked; replacing it', {
      ...{ pid: m.pid, code, signal, restarts: this.restarts, inMs: this.backoffMs },
    });
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      if (!this.closing) this.fork();
    }, this.backoffMs);
  }
}

const yes = (): boolean => true;
const no = (): boolean => false;

function assertNeverMessage(x: never): never {
  throw new Error(`unexpected worker message: ${String(x)}`);
}
