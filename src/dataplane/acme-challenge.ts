// ACME HTTP-01 challenges, answered on the plain listener before routing and before the https
// redirect, for any Host and any port (the CA asks for `Host: name:port`), by token alone: the key
// authorization comes from a lookup the ACME side provides (the state store, so any replica answers
// what the leader published). A token nobody published is routed like any other request, so an
// upstream that runs its own ACME client still gets its challenges.
import type { FrontRequest, FrontResponse } from './front.js';
import { withTimeout } from '../domain/async.js';

const PREFIX = '/.well-known/acme-challenge/';
/** RFC 8555 §8.3: the token is base64url. */
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;
/** A lookup that takes longer fails this validation; the CA retries the order later. */
const LOOKUP_MS = 2_000;

/** The key authorization published for a token, or null when none is. */
export type ChallengeLookup = (token: string) => Promise<string | null>;

type Next = (req: FrontRequest, res: FrontResponse) => void;

export class AcmeChallenges {
  private lookup: ChallengeLookup | null = null;

  /** Set once ACME is wired (null: challenges are routed like other requests). */
  use(lookup: ChallengeLookup | null): void {
    this.lookup = lookup;
  }

  /**
   * Answers the request when it is a published challenge; otherwise hands it to `next` (at once when it
   * cannot be one). `next` takes the request itself, so the common case allocates nothing per request.
   */
  handle(req: FrontRequest, res: FrontResponse, next: Next): void {
    const lookup = this.lookup;
    const url = req.url ?? '';
    if (lookup === null || req.method !== 'GET' || !url.startsWith(PREFIX)) return next(req, res);
    if (req.socket.encrypted === true) return next(req, res);
    const token = url.slice(PREFIX.length);
    if (!TOKEN.test(token)) return next(req, res);
    withTimeout(lookup(token), LOOKUP_MS, 'looking up an ACME challenge').then(
      (answer) => (answer === null ? next(req, res) : reply(res, 200, answer)),
      () => reply(res, 503, 'the ACME challenge store does not answer\n'),
    );
  }
}

function reply(res: FrontResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
