// The answers each client connection owes, in order. It makes three guarantees:
// - Pipelined requests are handled one at a time, like nginx does: the next is routed and sent
//   upstream only once the answer before it is finished, so an answer that closes the connection
//   (a refusal, a client fault) never leaves requests behind it executed upstream but unanswered.
// - A request is released when its connection dies, even one still waiting its turn (Node never
//   emits 'close' on a response that never got the socket; it would hold shutdown for its grace).
// - When the parser gives up on a connection, the requests it read whole are answered and the
//   connection closes after them (bytes after `Connection: close` are ignored, RFC 9112 §9.6);
//   nothing is ever answered twice.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FrontResponse } from './front.js';

const OWED = Symbol('veer.owed-answers');
const ENTRY = Symbol('veer.ledger-entry');

/** Handles one request when its turn comes (a shared function: nothing is allocated per request for it). */
export type Start = (req: IncomingMessage, res: ServerResponse) => void;

/** Told when a response closes (see onClose). */
export interface CloseParty {
  responseClosed(): void;
}

interface Entry {
  readonly ledger: ResponseLedger;
  readonly socket: Duplex;
  readonly owed: Owed;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** Null once called. */
  start: Start | null;
  /** Hears of the close after the ledger (onClose). */
  party: CloseParty | null;
}

interface Owed {
  /** Open responses in the order they must be answered. */
  readonly open: Map<ServerResponse, Entry>;
  closeWhenDone: boolean;
  /** An answer went out before its request's body was read: the bytes that follow are that body. */
  unreadBody: boolean;
  /** An answer said "close": requests read after it are never started. */
  ending: boolean;
}

type LedgerSocket = Duplex & { [OWED]?: Owed };
type LedgerResponse = ServerResponse & { [ENTRY]?: Entry };

/** One listener shared by every response: its entry travels on the response itself. */
function onResponseClose(this: LedgerResponse): void {
  const entry = this[ENTRY];
  if (entry === undefined) return;
  entry.ledger.release(entry);
  entry.party?.responseClosed();
}

/**
 * `party` hears when `res` closes. A response in a ledger tells one party through the ledger's own
 * listener: a second and third 'close' listener per request (the emitter's array, a closure, a once
 * wrapper) showed in the profile. Otherwise (HTTP/2, or that one slot taken) through a listener of its own.
 */
export function onClose(res: FrontResponse, party: CloseParty): void {
  const entry = (res as LedgerResponse)[ENTRY];
  if (entry !== undefined && entry.party === null) entry.party = party;
  else res.on('close', () => party.responseClosed());
}

export class ResponseLedger {
  private count = 0;
  /** The connections that owe or owed answers, until they close (shutdown tells their answers to close). */
  private readonly connections = new Set<Owed>();
  /** Called whenever the number of open responses drops to zero. */
  onIdle: (() => void) | null = null;
  /** Answers, then closes, a connection whose next request broke off mid-body (null: it just closes). */
  onBroken: ((socket: Duplex) => void) | null = null;

  get size(): number {
    return this.count;
  }

  /** Registers `res` and calls `start` now, or once the answers before it on this connection are done. */
  add(socket: Duplex, req: IncomingMessage, res: ServerResponse, start: Start): void {
    const owed = this.owedOn(socket);
    // The parser reached a new request: whatever body came before it was read whole.
    owed.unreadBody = false;
    const entry: Entry = { ledger: this, socket, owed, req, res, start, party: null };
    owed.open.set(res, entry);
    this.count++;
    (res as LedgerResponse)[ENTRY] = entry;
    res.on('close', onResponseClose);
    if (owed.open.size === 1 && !owed.ending && socket.writable) run(entry);
  }

  /**
   * The parser will read nothing more from `socket`. When the request being answered was read whole,
   * the error is about what came after it: the whole requests are answered, then the connection
   * closes (true). Otherwise (nothing owed, or that request's own body broke off) the caller decides.
   */
  finishThenClose(socket: Duplex): boolean {
    const owed = (socket as LedgerSocket)[OWED];
    const oldest = owed?.open.values().next().value;
    if (owed === undefined || oldest === undefined || !oldest.req.complete) return false;
    owed.closeWhenDone = true;
    return true;
  }

  /** Whether a request on `socket` was handed over and is not answered yet. */
  owes(socket: Duplex): boolean {
    return ((socket as LedgerSocket)[OWED]?.open.size ?? 0) > 0;
  }

  /** Whether an answer has started on `socket`, or the bytes arriving are an answered request's body. */
  answering(socket: Duplex): boolean {
    const owed = (socket as LedgerSocket)[OWED];
    if (owed === undefined) return false;
    if (owed.unreadBody) return true;
    for (const res of owed.open.keys()) if (res.headersSent) return true;
    return false;
  }

  private owedOn(socket: Duplex): Owed {
    const s = socket as LedgerSocket;
    const existing = s[OWED];
    if (existing !== undefined) return existing;
    const owed: Owed = { open: new Map(), closeWhenDone: false, unreadBody: false, ending: false };
    s[OWED] = owed;
    this.connections.add(owed);
    socket.once('close', () => this.connectionClosed(owed));
    return owed;
  }

  /** @internal (onResponseClose): the response is done; the next one on its connection may start. */
  release(entry: Entry): void {
    const { socket, owed, res } = entry;
    if (!owed.open.delete(res)) return;
    this.count--;
    if (!entry.req.complete) owed.unreadBody = true;
    if (!res.shouldKeepAlive) owed.ending = true;
    const next = owed.open.values().next().value;
    if (owed.closeWhenDone && (next === undefined || !next.req.complete)) {
      // The whole requests are answered; what is left broke off mid-body and is never started. It is
      // told so (400, as veer's own front answers it) in its turn: the answer is read as its own.
      if (next !== undefined && this.onBroken !== null && socket.writable && !owed.ending) this.onBroken(socket);
      else socket.end();
    } else if (next !== undefined && socket.writable && !owed.ending) {
      run(next);
    }
    // An answer that closed the connection leaves the requests behind it unstarted: never sent
    // upstream, released when the connection closes.
    if (this.count === 0) this.onIdle?.();
  }

  /**
   * Shutdown: every answer owed whose head has not gone out yet says `Connection: close`, so a keep-alive client
   * learns to go before veer closes the connection after it (answers started since are told by the server).
   */
  closing(): void {
    for (const owed of this.connections)
      for (const res of owed.open.keys()) if (!res.headersSent) res.shouldKeepAlive = false;
  }

  private connectionClosed(owed: Owed): void {
    this.connections.delete(owed);
    for (const [res, entry] of [...owed.open]) {
      owed.open.delete(res);
      this.count--;
      // A started response that never got the socket is not closed by Node: say so, and whoever
      // produces it (an Exchange) stops and releases its upstream request.
      if (entry.start === null && res.socket === null && !res.destroyed) res.emit('close');
    }
    if (this.count === 0) this.onIdle?.();
  }
}

function run(entry: Entry): void {
  const start = entry.start;
  entry.start = null;
  start?.(entry.req, entry.res);
}
