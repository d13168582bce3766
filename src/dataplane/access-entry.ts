// What one request leaves behind for its access line and its answers: its id, its route, veer's own
// answer if it gave one, and its exchange (read only when the line is written). One small object per
// request; the line itself is built only if it is written.
import type { FrontRequest, FrontResponse } from './front.js';
import type { PoolName } from '../domain/pool.js';
import type { CloseParty } from './ledger.js';
import type { RequestBody } from './request-body.js';
import type { ProxyErrorCode } from './responses.js';
import type { ServiceRoute } from './table.js';
import type { Upstream } from './upstream.js';
import { untakenOf, wasCut } from './untaken-answer.js';

/** Veer's own answer, or how the answer ended without one: the client left, or veer cut it mid-body. */
export type AccessError = ProxyErrorCode | 'client_closed' | 'truncated';

/** What the access line reads of the request's exchange (exchange.ts) once the response closed. */
export interface ExchangeFacts {
  readonly pool: { readonly name: PoolName };
  /** The last attempt's target (undefined: never dispatched). */
  readonly target: Upstream | undefined;
  /** Attempts after the first. */
  readonly attempt: number;
  /** The last attempt's time from the request handed over to the upstream's headers, if they came. */
  readonly latencyMs: number;
  readonly gotHeaders: boolean;
  readonly done: boolean;
  readonly clientGone: boolean;
  readonly body: RequestBody | null;
  readonly down: { readonly written: number; readonly lost: number };
}

/** Where a client that closed mid-way through veer's own answer is counted (veer_proxy_answers_total). */
export interface LeftCount {
  note(answer: 'client_closed'): void;
}

/** Where the line goes when the response closes (the access log; null: not written). */
export interface AccessRecorder {
  record(e: AccessEntry): void;
}

/** One 'close' listener serves the line and the exchange (see ledger.ts onClose). */
export class AccessEntry implements CloseParty {
  route: ServiceRoute | null = null;
  exchange: (ExchangeFacts & CloseParty) | null = null;
  /** Body bytes of veer's own answer: the whole page, then (at the close) those that left veer for its client. */
  bytesOut = 0;
  /** Veer's own answer (set by sendProxyError). */
  error: ProxyErrorCode | null = null;
  /** Veer wrote an answer of its own (sendProxyError): its close tells whether its client took it whole. */
  ownAnswer = false;
  /** Its client left before it had veer's own answer whole (closed, or cut for not reading it). */
  left = false;
  /**
   * Where its client closing mid-way through veer's own answer is counted, as every client that leaves is, once
   * (one cut for not reading it was counted by the cut); set by whoever gave the answer (null: not counted here).
   */
  leaving: LeftCount | null = null;
  /** performance.now() at the start, for the duration. */
  readonly startHr = performance.now();

  constructor(
    readonly req: FrontRequest,
    readonly res: FrontResponse,
    /** Wall clock (epoch ms) at the start. */
    readonly startedAt: number,
    /** null: request ids are off. */
    readonly id: string | null,
    /** Lower-case request id header name. */
    readonly idHeader: string,
    readonly peer: string,
    readonly trustedPeer: boolean,
    private readonly log: AccessRecorder | null = null,
  ) {}

  /** The line first (it reads the exchange as the response left it), then the exchange. */
  responseClosed(): void {
    if (this.ownAnswer && (this.log !== null || this.leaving !== null)) this.settleOwn();
    this.log?.record(this);
    this.exchange?.responseClosed();
  }

  /**
   * Veer's own answer as its client got it: a client that closed mid-page, or was cut for taking none of it, left
   * (access-line.ts outcome), and its bytesOut are those that left veer, as a proxied answer's are those written.
   */
  private settleOwn(): void {
    const untaken = untakenOf(this.res);
    if (untaken < 0) return;
    this.left = true;
    if (!wasCut(this.res)) this.leaving?.note('client_closed');
    this.bytesOut = Math.max(0, this.bytesOut - untaken);
  }
}
