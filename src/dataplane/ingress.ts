// The request entry: route, split, rewrite headers, hand over to an Exchange. Synchronous until the
// upstream call and reads one routing-table snapshot per request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Clock, Random } from '../domain/clock.js';
import { Exchange, type ExchangeEnv } from './exchange.js';
import { peerAddress, upstreamRequestHeaders, viaHasLoop } from './headers.js';
import { sendProxyError } from './responses.js';
import { splitAbsoluteForm } from './router.js';
import { choosePoolFor } from './pool-choice.js';
import type { RoutingTable } from './table.js';

export interface IngressOptions {
  clock: Clock;
  random: Random;
  headersTimeout: number;
  bodyTimeout: number;
  retryConnectErrors: boolean;
  /** Lower-case header name, or null when the override is disabled. */
  overrideHeader: string | null;
  viaPseudonym: string;
  isTrusted: (ip: string) => boolean;
}

export class Ingress {
  private readonly env: ExchangeEnv;

  constructor(
    private readonly opts: IngressOptions,
    private readonly table: () => RoutingTable,
  ) {
    this.env = {
      clock: opts.clock,
      random: opts.random,
      headersTimeout: opts.headersTimeout,
      bodyTimeout: opts.bodyTimeout,
      retryConnectErrors: opts.retryConnectErrors,
      viaEntry: `1.1 ${opts.viaPseudonym}`,
    };
  }

  readonly handle = (req: IncomingMessage, res: ServerResponse): void => {
    const headers = req.headers;
    let host = headers.host;
    let url = req.url ?? '/';
    if (url.charCodeAt(0) !== 47 /* '/' */) {
      // Absolute-form request target (RFC 9112 §3.2.2): its authority stands for Host, and the
      // upstream gets the origin-form path.
      const abs = splitAbsoluteForm(url);
      if (abs !== null) {
        host = abs.authority;
        url = abs.path;
        req.url = url;
      }
    }
    const route = this.table().router.lookup(host, url);
    if (route === undefined) return sendProxyError(res, 'no_route');
    if (viaHasLoop(headers.via, this.opts.viaPseudonym)) return sendProxyError(res, 'loop_detected');

    const { pool, mintedBucket } = choosePoolFor(route, headers, this.opts.overrideHeader, this.opts.random);
    const sticky = route.sticky;
    const extra = mintedBucket === undefined || sticky === null ? null : ['set-cookie', `${sticky.namePrefix}${mintedBucket}${sticky.attributes}`];

    const peer = peerAddress(req.socket.remoteAddress);
    const upstreamHeaders = upstreamRequestHeaders(req.rawHeaders, {
      peer,
      trustedPeer: this.opts.isTrusted(peer),
      proto: 'encrypted' in req.socket ? 'https' : 'http',
      viaEntry: this.env.viaEntry,
    });
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    new Exchange(this.env, req, res, route, pool, upstreamHeaders, hasBody, extra).start();
  };
}
