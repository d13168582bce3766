// The listeners of `workers: N`, held by the primary: it accepts every connection and hands it to a worker,
// keeping its own descriptor until that worker says it took it. Node's round-robin hands connections out the
// same way but forgets one handed to a worker that dies before taking it (open and unanswered until the client
// gives up: nodejs/node#21746), and closes the port with the last worker. Here that connection goes to the next
// worker, and while none is ready the port stays open and connections wait, bounded, for a replacement. Each goes
// to the worker with the fewest connections open (worker-choice.ts), not to whichever is free first.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Logger } from '../domain/log.js';
import { listenOn } from '../dataplane/listen-on.js';
import { chooseWorker, type Choice } from './worker-choice.js';

export type PortKind = 'data' | 'tls';

/** A worker as the handout sees it: `give` false when its channel is gone (its exit follows). */
export interface Taker {
  give(id: number, port: PortKind, socket: Socket): boolean;
  /** Its connections open, as it last said (when it took one, and once a second). */
  readonly connections: number;
}

interface Held {
  readonly id: number;
  readonly port: PortKind;
  readonly socket: Socket;
  /** When it began to wait (ms, the handout's monotonic clock): a connection waits for a worker at most `waitMs`. */
  readonly at: number;
  /** Times a worker gave it back untaken (closing, gone): each time it waits anew, at most MAX_HAND_ONS times. */
  readonly handedOn: number;
}

/** A connection given back untaken more often than this is closed (its waits stay bounded). */
const MAX_HAND_ONS = 3;

export interface HandoutOptions {
  /** How long a connection may wait for a ready worker (none is while every one restarts). */
  waitMs: number;
  /** Connections waiting at once; more are closed as they come, as a full accept backlog would refuse them. */
  maxWaiting: number;
  /** A worker not taking the connection in its hand this long is stuck (stopped, or its loop blocked): said once. */
  stuckMs: number;
  stuck: (workerId: number) => void;
  /** A monotonic clock (ms): a wall clock stepped would cut waiting connections early, or keep them late. */
  now: () => number;
  log: Logger;
}

export class Handout {
  private readonly servers = new Map<PortKind, Server>();
  /** Accepted, not yet handed out: every worker had one in hand, or none was ready. */
  private readonly waiting: Held[] = [];
  /**
   * Ready workers with nothing in hand; the next connection goes to the one with the fewest open
   * (worker-choice.ts). Like Node's, each worker has at most one connection in hand: a worker that stalls holds
   * one connection, not a growing queue.
   */
  private readonly free = new Map<number, Taker>();
  private readonly inHand = new Map<number, Held & { given: number; taker: Taker }>();
  /** Workers said stuck, not again until they are gone. */
  private readonly saidStuck = new Set<number>();
  private inHandWatch: NodeJS.Timeout | null = null;
  private nextId = 0;
  /** Connections closed untaken (too many waiting, or waited too long); said in the log at most once a second. */
  dropped = 0;
  private said = { at: Number.NEGATIVE_INFINITY, count: 0 };
  private sweep: NodeJS.Timeout | null = null;
  /** Looks again when a wait for a less loaded worker ends (chooseWorker's `until`). */
  private again: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: HandoutOptions) {}

  /** Binds `port`'s listener; one already bound is replaced: the new one accepts first, then the old one stops. */
  async listen(port: PortKind, host: string, portNumber: number): Promise<AddressInfo> {
    // Not read here: the worker reads every byte (a byte read by the primary would be lost to it).
    const server = createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.accepted(port, s));
    const address = await listenOn(server, host, portNumber);
    // A connection that fails before it is handed out concerns that client only.
    server.on('error', (e) => this.o.log.log('warn', 'listener error', { port, error: e.message }));
    const old = this.servers.get(port);
    this.servers.set(port, server);
    old?.close();
    return address;
  }

  /** A worker can take connections (it started, or took the one it had in hand). */
  ready(workerId: number, taker: Taker): void {
    if (this.closed) return;
    this.free.set(workerId, taker);
    this.dispatch();
  }

  /** The worker took connection `id`: the primary's descriptor is closed (the connection lives on in the worker). */
  took(workerId: number, id: number, taker: Taker): void {
    const held = this.takeBack(workerId, id);
    if (held === undefined) return;
    held.socket.destroy();
    this.ready(workerId, taker);
  }

  /** The worker is closing and left connection `id` unread: it goes to another one, and this one gets no more. */
  declined(workerId: number, id: number): void {
    this.handOn(this.takeBack(workerId, id));
  }

  /** The worker is gone (exited, its channel closed: every message it sent was read): what it had in hand goes on. */
  gone(workerId: number): void {
    this.free.delete(workerId);
    this.saidStuck.delete(workerId);
    this.handOn(this.takeBack(workerId));
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** Stops accepting; connections waiting for a worker are closed (those handed out are the workers'). */
  close(): void {
    this.closed = true;
    for (const s of this.servers.values()) s.close();
    this.servers.clear();
    for (const h of this.waiting.splice(0)) h.socket.destroy();
    this.free.clear();
    for (const t of [this.sweep, this.inHandWatch, this.again]) if (t) clearTimeout(t); // Node's clear either kind
    this.sweep = this.inHandWatch = this.again = null;
  }

  /** What the worker has in hand (only connection `id`, when given), no longer its. */
  private takeBack(workerId: number, id?: number): Held | undefined {
    const held = this.inHand.get(workerId);
    if (held === undefined || (id !== undefined && held.id !== id)) return undefined;
    this.inHand.delete(workerId);
    return held;
  }

  /** A connection a worker gave back goes first to the next one. */
  private handOn(held: Held | undefined): void {
    if (held === undefined) return;
    if (held.handedOn >= MAX_HAND_ONS) {
      held.socket.destroy();
      return this.drop(1);
    }
    // Its wait was spent on a worker that failed it, not by its client: it waits again as a new connection does.
    const { id, port, socket } = held;
    this.waiting.unshift({ id, port, socket, at: this.o.now(), handedOn: held.handedOn + 1 });
    this.dispatch();
  }

  private accepted(port: PortKind, socket: Socket): void {
    if (this.closed) return void socket.destroy();
    // A client that resets before it is handed out: its error is its own, never the primary's.
    socket.on('error', () => undefined);
    if (this.waiting.length >= this.o.maxWaiting) {
      socket.destroy();
      return this.drop(1);
    }
    this.waiting.push({ id: ++this.nextId, port, socket, at: this.o.now(), handedOn: 0 });
    this.dispatch();
  }

  /** A flood of connections while no worker takes them must not become a flood of log lines. */
  private drop(n: number): void {
    this.dropped += n;
    this.said.count += n;
    const now = this.o.now();
    if (now - this.said.at < 1_000) return;
    const fields = { dropped: this.said.count, waiting: this.waiting.length, maxWaiting: this.o.maxWaiting };
    this.o.log.log('warn', 'connections closed untaken: too many waiting for a worker, or waited too long', fields);
    this.said = { at: now, count: 0 };
  }

  private dispatch(): void {
    for (let held = this.waiting[0]; held !== undefined; held = this.waiting[0]) {
      // A client gone while it waited: the next one (the worker that would have had it stays free).
      if (held.socket.destroyed && this.waiting.shift() !== undefined) continue;
      const choice = this.choose();
      if (choice.kind === 'none') break;
      if (choice.kind === 'wait') {
        this.lookAgainAt(choice.until);
        break;
      }
      const taker = this.free.get(choice.id) as Taker;
      this.free.delete(choice.id);
      this.waiting.shift();
      this.inHand.set(choice.id, { ...held, given: this.o.now(), taker });
      if (!taker.give(held.id, held.port, held.socket)) {
        // Its channel is closing: the connection goes to the next worker, and this one is not free again.
        this.inHand.delete(choice.id);
        this.waiting.unshift(held);
      }
    }
    this.watchWaiting();
    this.watchInHand();
  }

  private choose(): Choice {
    const free = [...this.free].map(([id, t]) => ({ id, load: t.connections }));
    // One said stuck is not waited for: the primary is ending it.
    const busy = [...this.inHand].filter(([id]) => !this.saidStuck.has(id));
    const given = busy.map(([id, h]) => ({ id, load: h.taker.connections + 1, givenAt: h.given }));
    return chooseWorker(free, given, this.o.now());
  }

  private lookAgainAt(until: number): void {
    if (this.again !== null || this.closed) return;
    const again = (): void => void ((this.again = null), this.dispatch());
    this.again = setTimeout(again, Math.max(1, Math.ceil(until - this.o.now()))).unref();
  }

  /** Once a second while workers have connections in hand: those that have not taken theirs within `stuckMs`. */
  private watchInHand(): void {
    if (this.inHandWatch !== null || this.closed) return;
    this.inHandWatch = setInterval(() => {
      if (this.inHand.size === 0) {
        clearInterval(this.inHandWatch ?? undefined);
        this.inHandWatch = null;
        return;
      }
      const late = this.o.now() - this.o.stuckMs;
      for (const [workerId, h] of this.inHand) {
        if (h.given > late || this.saidStuck.has(workerId)) continue;
        this.saidStuck.add(workerId);
        this.o.stuck(workerId);
      }
    }, 1_000).unref();
  }

  /** While connections wait (every worker busy or restarting), the ones past `waitMs` are closed, once a second. */
  private watchWaiting(): void {
    if (this.waiting.length === 0 || this.sweep !== null || this.closed) return;
    this.sweep = setInterval(() => {
      const late = this.o.now() - this.o.waitMs;
      const kept: Held[] = [];
      let dropped = 0; // by the primary: one already gone is not counted
      for (const h of this.waiting) {
        if (h.socket.destroyed) continue;
        if (h.at > late) kept.push(h);
        else {
          h.socket.destroy();
          dropped++;
        }
      }
      this.waiting.splice(0, this.waiting.length, ...kept);
      if (dropped > 0) this.drop(dropped);
      if (this.waiting.length > 0 || this.sweep === null) return;
      clearInterval(this.sweep);
      this.sweep = null;
    }, 1_000).unref();
  }
}
