// veer's own HTTP/1.1 front (`proxy.front: lean`): the connections it serves, how many answers they owe
// (shutdown waits for them with the ledger's), and one sweep for their time bounds, as node:http checks
// headersTimeout and requestTimeout on an interval rather than a timer per request.
import type { Socket } from 'node:net';
import type { FrontRequest, FrontResponse } from '../front.js';
import type { ParserRefusal } from '../server.js';
import { LeanConnection } from './lean-connection.js';
import type { LeanLimits } from './lean-ports.js';

export interface LeanServer {
  start(req: FrontRequest, res: FrontResponse): void;
  /** node:http reads this socket from now on. */
  refer(socket: Socket): void;
  /** A request refused on `socket` (its access line says whose); null: one already started, with a line of its own. */
  refused(code: ParserRefusal, socket: Socket | null): void;
  closing(): boolean;
}

export class LeanFront {
  private readonly conns = new Set<LeanConnection>();
  private sweep: NodeJS.Timeout | null = null;
  private count = 0;
  /** Called whenever no answer is owed any more. */
  onIdle: (() => void) | null = null;

  constructor(
    private readonly limits: LeanLimits,
    private readonly server: LeanServer,
    /** How often the time bounds are checked (server.ts's checkingInterval). */
    private readonly sweepMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Answers owed on its connections. */
  get inFlight(): number {
    return this.count;
  }

  accept(socket: Socket): void {
    const s = this.server;
    const conn = new LeanConnection(
      socket,
      this.limits,
      {
        start: s.start,
        refer: s.refer,
        refused: (code, started) => s.refused(code, started ? null : socket),
        closing: s.closing,
        owed: (delta) => {
          this.count += delta;
          if (this.count === 0) this.onIdle?.();
        },
        forget: (c) => this.forget(c as LeanConnection),
      },
      this.now,
    );
    this.conns.add(conn);
    if (this.sweep === null) {
      this.sweep = setInterval(() => this.check(), this.sweepMs);
      this.sweep.unref();
    }
    // A connection reaches here paused, its first bytes put back (preface-sniff.ts, or after TLS).
    socket.resume();
  }

  private check(): void {
    const now = this.now();
    for (const c of this.conns) c.check(now);
  }

  private forget(conn: LeanConnection): void {
    this.conns.delete(conn);
    if (this.conns.size === 0 && this.sweep !== null) {
      clearInterval(this.sweep);
      this.sweep = null;
    }
  }

  /** Shutdown's first step: connections owing nothing close. */
  closeIdle(): void {
    for (const c of this.conns) c.closeIfIdle();
  }

  /** Shutdown's last: every connection closes. */
  closeAll(): void {
    for (const c of [...this.conns]) c.socket.destroy();
  }
}
