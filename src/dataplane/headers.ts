// Header rewriting for both directions. Works on flat raw header arrays (name, value, …) so the
// original case and repeated headers survive, and lower-cases a name only when its length says
// it could be one we care about.
import { BlockList, isIPv6 } from 'node:net';
import { withoutSessionCookie } from '../domain/session-cookie.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
  // The h2c upgrade's settings (RFC 7540 §3.2.1): node:http2 refuses to send it, which
  // left an HTTP/2 client's stream unanswered.
  'http2-settings',
]);
const REWRITTEN = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded', 'via']);
// Node's server has already answered "100 Continue" to the client, and undici refuses to send Expect.
const NOT_FORWARDED = 'expect';
// The fast filter: a field is looked at closely only when its length and first letter match one of these
// ("host" is read for X-Forwarded-Host; "cookie" loses veer's dashboard session, session-cookie.ts). The
// length alone let Server, Date, ETag and Set-Cookie through.
const shapeOf = (name: string): number => name.length * 128 + (name.charCodeAt(0) | 0x20); // | 0x20: a-z, A-Z alike
const CANDIDATES = new Set([...HOP_BY_HOP, ...REWRITTEN, NOT_FORWARDED, 'host', 'cookie'].map(shapeOf));
// A Connection header may name hop-by-hop fields to drop, but never the ones that route and frame
// the request or the ones veer itself writes: "Connection: host" must not change what the
// upstream sees as the request's host.
const NEVER_CONNECTION_LISTED = new Set(['host', 'content-length', ...REWRITTEN]);

export interface RequestHeaderContext {
  /** Peer IP without an IPv4-mapped prefix. */
  peer: string;
  trustedPeer: boolean;
  proto: 'http' | 'https';
  /** e.g. "1.1 veer". */
  viaEntry: string;
  /** The absolute-form target's authority, which replaces Host (RFC 9112 §3.2.2). */
  authority: string | undefined;
  /** Lower-case request id header ('' when ids are off): the client's fields are replaced by `requestId`. */
  idHeader: string;
  requestId: string | null;
}

/** The field names a Connection value makes hop-by-hop, less those it may never remove (and `keep`). */
export function connectionTokens(value: string, keep?: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (const tok of value.split(',')) {
    const t = tok.trim().toLowerCase();
    if (t && !NEVER_CONNECTION_LISTED.has(t) && !keep?.has(t)) out.push(t);
  }
  return out;
}

/**
 * Whether a Connection token adds a field to drop: not one dropped anyway, nor "close" (a connection
 * option; RFC 9110 §18.4 reserves the field name). "keep-alive" and "close" are nearly every Connection
 * header's whole value, and a set of extra names sends every field through the slow path.
 */
function listsMore(token: string): boolean {
  return token !== 'close' && !HOP_BY_HOP.has(token);
}

/** Names listed in a Connection header are hop-by-hop too (RFC 9110 §7.6.1). */
function connectionListed(raw: readonly string[]): Set<string> | null {
  let extra: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 10 || name.toLowerCase() !== 'connection') continue;
    for (const t of connectionTokens(raw[i + 1] as string)) if (listsMore(t)) (extra ??= new Set()).add(t);
  }
  return extra;
}

/**
 * The headers forwarded upstream, or null when the request carries more than one Host field
 * (RFC 9112 §3.2: such a request is refused 400).
 */
export function upstreamRequestHeaders(raw: readonly string[], ctx: RequestHeaderContext): string[] | null {
  const extra = connectionListed(raw);
  const out: string[] = [];
  let xff: string | undefined;
  let xfProto: string | undefined;
  let xfHost: string | undefined;
  let host: string | undefined;
  let via: string | undefined;
  const idLength = ctx.requestId === null ? -1 : ctx.idHeader.length;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (!CANDIDATES.has(shapeOf(name)) && extra === null && name.length !== idLength) {
      out.push(name, value);
      continue;
    }
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === NOT_FORWARDED || extra?.has(lower)) continue;
    if (idLength >= 0 && lower === ctx.idHeader) continue;
    switch (lower) {
      case 'x-forwarded-for':
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      case 'x-forwarded-proto':
        xfProto ??= value;
        continue;
      case 'x-forwarded-host':
        xfHost ??= value;
        continue;
      case 'via':
        via = via === undefined ? value : `${via}, ${value}`;
        continue;
      case 'forwarded':
        if (ctx.trustedPeer) out.push(name, value);
        continue;
      case 'cookie':
        pushCookie(out, name, value);
        continue;
      case 'host':
        if (host !== undefined) return null;
        host = value;
        if (ctx.authority !== undefined) continue;
        break;
    }
    out.push(name, value);
  }
  if (ctx.authority !== undefined) out.push('host', (host = ctx.authority));
  if (ctx.trustedPeer) {
    out.push('x-forwarded-for', xff === undefined ? ctx.peer : `${xff}, ${ctx.peer}`);
    out.push('x-forwarded-proto', xfProto ?? ctx.proto);
    if (xfHost !== undefined || host !== undefined) out.push('x-forwarded-host', (xfHost ?? host) as string);
  } else {
    out.push('x-forwarded-for', ctx.peer, 'x-forwarded-proto', ctx.proto);
    if (host !== undefined) out.push('x-forwarded-host', host);
  }
  out.push('via', via === undefined ? ctx.viaEntry : `${via}, ${ctx.viaEntry}`);
  if (ctx.requestId !== null) out.push(ctx.idHeader, ctx.requestId);
  return out;
}

/** A Cookie field without veer's dashboard session (session-cookie.ts); none when nothing is left. */
function pushCookie(out: string[], name: string, value: string): void {
  const kept = withoutSessionCookie(value);
  if (kept !== null) out.push(name, kept);
}

/**
 * True when a Via header shows this proxy already forwarded the request (a routing loop). The
 * received-by names compare without case, as host names do: `1.1 VEER` is this proxy too.
 */
export function viaHasLoop(via: string | undefined, pseudonym: string): boolean {
  if (via === undefined) return false;
  const name = pseudonym.toLowerCase();
  const lower = via.toLowerCase();
  if (!lower.includes(name)) return false;
  for (const part of lower.split(',')) {
    const fields = part.trim().split(/\s+/);
    if (fields[1] === name) return true;
  }
  return false;
}

/** A response field's name or value as a client gives it: undici's as a Buffer, veer's own client's as text. */
export type RawField = Buffer | string;

const text = (f: RawField): string => (typeof f === 'string' ? f : f.toString('latin1'));

/** Fields veer adds to a proxied answer beside the upstream's own (ingress.ts); any other it adds replaces them. */
export const STICKY_FIELD = 'set-cookie';
export const HSTS_FIELD = 'strict-transport-security';

/** The field among `added` that replaces the upstream's (the request id: one id per answer), '' when none. */
function replacedIn(added: readonly string[] | null): string {
  if (added === null) return '';
  for (let i = 0; i < added.length; i += 2) {
    const name = added[i] as string;
    if (name !== STICKY_FIELD && name !== HSTS_FIELD) return name;
  }
  return '';
}

/**
 * Upstream response headers minus hop-by-hop ones, as a flat string array. `added`: the (lower-case) fields
 * veer adds after these; the upstream's field of the request id's name is dropped, so the client gets one.
 */
export function downstreamResponseHeaders(
  raw: readonly RawField[],
  out: string[],
  added: readonly string[] | null = null,
): string[] {
  let extra: Set<string> | null = null;
  const replaced = replacedIn(added);
  // Its length and first letter, as the fast filter's (x-request-id shares neither with common fields).
  const replacedShape = replaced === '' ? -1 : shapeOf(replaced);
  for (let i = 0; i < raw.length; i += 2) {
    const name = text(raw[i] as RawField);
    const value = text(raw[i + 1] as RawField);
    const shape = shapeOf(name);
    if (shape === replacedShape && name.toLowerCase() === replaced) continue;
    if (CANDIDATES.has(shape)) {
      const lower = name.toLowerCase();
      if (lower === 'connection') {
        for (const tok of value.split(',')) {
          const t = tok.trim().toLowerCase();
          if (listsMore(t)) (extra ??= new Set()).add(t);
        }
        continue;
      }
      if (HOP_BY_HOP.has(lower)) continue;
    }
    out.push(name, value);
  }
  if (extra !== null) {
    const kept: string[] = [];
    for (let i = 0; i < out.length; i += 2) {
      if (!extra.has((out[i] as string).toLowerCase())) kept.push(out[i] as string, out[i + 1] as string);
    }
    return kept;
  }
  return out;
}

/** Client address as it should appear in X-Forwarded-For. */
export function peerAddress(remote: string | undefined): string {
  if (remote === undefined) return 'unknown';
  return remote.startsWith('::ffff:') ? remote.slice(7) : remote;
}

/** Trusted proxies: plain IPs or CIDRs, v4 or v6. */
export function trustedProxyMatcher(entries: readonly string[]): (ip: string) => boolean {
  if (entries.length === 0) return () => false;
  const list = new BlockList();
  for (const e of entries) {
    const [addr, bits] = e.split('/') as [string, string | undefined];
    const type = isIPv6(addr) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(addr, type);
    else list.addSubnet(addr, Number(bits), type);
  }
  return (ip) => list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
}
