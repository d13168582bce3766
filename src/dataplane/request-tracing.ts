// Where a request's entry begins: its id (request-id.ts) and, while the access log is on, the line
// written when its response closes. Nothing at all when both are off.
import type { FrontRequest, FrontResponse } from './front.js';
import type { Clock, Random } from '../domain/clock.js';
import { AccessEntry } from './access-entry.js';
import type { AccessLog } from './access-log.js';
import { peerAddress } from './headers.js';
import { onClose } from './ledger.js';
import { RequestIds } from './request-id.js';

export interface TracingDeps {
  clock: Clock;
  random: Random;
  /** `proxy.trustedProxies`: whose request id is kept. */
  isTrusted: (ip: string) => boolean;
  access: AccessLog;
}

export class RequestTracing {
  private readonly ids: RequestIds | null;
  /** Lower-case header name ('' when ids are off). */
  readonly header: string;

  constructor(
    header: string | false,
    private readonly deps: TracingDeps,
  ) {
    this.ids = header === false ? null : new RequestIds();
    this.header = header === false ? '' : header.toLowerCase();
  }

  /** An upgrade's id (null: ids are off). */
  idOf(req: FrontRequest): string | null {
    if (this.ids === null) return null;
    return this.ids.choose(req.headers[this.header], this.deps.isTrusted(peerAddress(req.socket.remoteAddress)));
  }

  open(req: FrontRequest, res: FrontResponse): AccessEntry | null {
    const access = this.deps.access;
    const logged = access.enabled;
    if (this.ids === null && !logged) return null;
    const peer = peerAddress(req.socket.remoteAddress);
    const trusted = this.deps.isTrusted(peer);
    const id = this.ids === null ? null : this.ids.choose(req.headers[this.header], trusted);
    const e = new AccessEntry(req, res, this.deps.clock.now(), id, this.header, peer, trusted, logged ? access : null);
    onClose(res, e);
    return e;
  }
}
