// The request target as routed and as forwarded: one string, so an upstream never sees a path that
// routing did not. Pure and allocation-free on the common path (no "%", no "/.", no "\").
//
// - Absolute form (RFC 9112 §3.2.2): only http/https; the authority stands for Host.
// - Dot-segments are removed (RFC 3986 §5.2.4) after percent-encoded unreserved characters are
//   decoded (§6.2.2.2), so "/public/%2e%2e/internal" is routed and forwarded as "/internal".
// - Ambiguous shapes that some upstreams resolve differently are refused rather than guessed:
//   a raw backslash (WHATWG URL parsers read it as "/"), a dot-segment delimited by an encoded
//   slash or backslash ("/a/..%2fb"), a dot-segment with path parameters ("/a/..;/b", which Tomcat
//   reads as ".."), a fragment, and malformed percent escapes.

export type TargetFault = 'bad_host' | 'bad_path';

export interface RequestTarget {
  /** Authority from an absolute-form target; undefined for origin form (Host decides). */
  authority: string | undefined;
  /** Origin-form path and query, normalized: what is routed and what is forwarded. */
  path: string;
}

const SLASH = 47;
const DOT = 46;
const PERCENT = 37;
const BACKSLASH = 92;

/** Parses `req.url` into what veer routes and forwards, or the fault that refuses it (400). */
export function parseRequestTarget(url: string): RequestTarget | TargetFault {
  if (url.charCodeAt(0) === SLASH) {
    const path = normalizePath(url);
    return path === null ? 'bad_path' : { authority: undefined, path };
  }
  const scheme = url.indexOf('://');
  if (scheme <= 0) return 'bad_path'; // "*" (OPTIONS *), authority form or garbage: nothing to route
  const s = url.slice(0, scheme).toLowerCase();
  if (s !== 'http' && s !== 'https') return 'bad_path';
  const from = scheme + 3;
  let end = url.length;
  for (let i = from; i < url.length; i++) {
    const c = url.charCodeAt(i);
    if (c === SLASH || c === 63 /* ? */ || c === 35 /* # */) {
      end = i;
      break;
    }
  }
  const authority = url.slice(from, end);
  // userinfo is deprecated in http(s) URIs and only ever used to disguise the real host.
  if (!isValidHost(authority) || authority === '') return 'bad_host';
  const rest = url.slice(end);
  const path = normalizePath(rest.charCodeAt(0) === SLASH ? rest : `/${rest}`);
  return path === null ? 'bad_path' : { authority, path };
}

/** The normalized origin-form target, or null when it is malformed or ambiguous. */
export function normalizePath(url: string): string | null {
  const q = url.indexOf('?');
  const end = q === -1 ? url.length : q;
  // A fragment is never part of a request target; in the query it would reach the upstream.
  if (q !== -1 && url.indexOf('#', q) !== -1) return null;
  if (!needsWork(url, end)) return url;
  const path = url.slice(0, end);
  if (path.includes('#') || path.includes('\\')) return null;
  const decoded = decodeUnreserved(path);
  if (decoded === null) return null;
  if (hasHiddenDotSegment(decoded)) return null;
  const out = removeDotSegments(decoded);
  return q === -1 ? out : out + url.slice(q);
}

/** Whether url[0, end) could hold an escape, a backslash, a fragment or a dot-segment. */
function needsWork(url: string, end: number): boolean {
  for (let i = 0; i < end; i++) {
    const c = url.charCodeAt(i);
    if (c === PERCENT || c === BACKSLASH || c === 35 /* # */) return true;
    if (c === DOT && url.charCodeAt(i - 1) === SLASH) return true;
  }
  return false;
}

function isUnreserved(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === DOT ||
    c === 95 ||
    c === 126
  );
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Decodes %XX of unreserved characters; other escapes stay as they are. null on a broken escape. */
function decodeUnreserved(path: string): string | null {
  if (!path.includes('%')) return path;
  let out = '';
  let last = 0;
  for (let i = path.indexOf('%'); i !== -1; i = path.indexOf('%', i + 1)) {
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return null;
    const c = hi * 16 + lo;
    if (!isUnreserved(c)) continue;
    out += path.slice(last, i) + String.fromCharCode(c);
    last = i + 3;
    i += 2;
  }
  return out + path.slice(last);
}

/**
 * True when a segment is not a dot-segment for RFC 3986 but some upstream would read it as one: "."
 * or ".." delimited by an encoded slash or backslash, or that only become "." / ".." once every
 * escape is decoded (";" path parameters, "%3b", trailing spaces or NULs, overlong UTF-8 dots).
 * Upstreams disagree on those, so they are refused rather than guessed.
 */
function hasHiddenDotSegment(path: string): boolean {
  const lower = path.toLowerCase();
  const encodedSep =
    lower.includes('%2f') || lower.includes('%5c') || lower.includes('%c0%af') || lower.includes('%c1%9c');
  for (const segment of encodedSep ? lower.split(/\/|%2f|%5c|%c0%af|%c1%9c/) : lower.split('/')) {
    if (segment === '.' || segment === '..') {
      if (encodedSep) return true;
      continue;
    }
    if (
      segment.length > 0 &&
      segment.length < 40 &&
      (segment.charCodeAt(0) === DOT || segment.charCodeAt(0) === PERCENT)
    ) {
      const loose = looseDecode(segment);
      if (loose === '.' || loose === '..') return true;
    }
  }
  return false;
}

/**
 * A segment as the loosest decoder would read it: every escape decoded, overlong UTF-8 dots taken as
 * dots, and cut at the first ";", NUL or whitespace (path parameters, C strings, trimming).
 */
function looseDecode(segment: string): string {
  let s = segment.replace(/%c0%ae|%e0%80%ae/g, '.');
  s = s.replace(/%([0-9a-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
  const cut = s.search(/[;\x00\s]/);
  return cut === -1 ? s : s.slice(0, cut);
}

/** RFC 3986 §5.2.4 on an absolute path ("/a/b/../c" → "/a/c"; never climbs above "/"). */
export function removeDotSegments(path: string): string {
  const segments = path.split('/');
  const out: string[] = [];
  // segments[0] is the empty string before the leading "/".
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] as string;
    const last = i === segments.length - 1;
    if (s === '.') {
      if (last) out.push('');
    } else if (s === '..') {
      out.pop();
      if (last) out.push('');
    } else {
      out.push(s);
    }
  }
  return `/${out.join('/')}`;
}

/**
 * RFC 3986 authority without userinfo: reg-name, IPv4 or "[IPv6]", with an optional port. An empty
 * value is valid for a Host header (RFC 9112 §3.2) and routes only to "*" services.
 */
export function isValidHost(host: string): boolean {
  const n = host.length;
  if (n === 0) return true;
  let i = 0;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf(']');
    if (close < 3) return false;
    let colons = 0;
    for (i = 1; i < close; i++) {
      const c = host.charCodeAt(i);
      if (c === 58 /* : */) colons++;
      else if (!(hexValue(c) >= 0 || c === DOT)) return false;
    }
    if (colons < 2) return false; // "[1.2.3.4]" is not an IP-literal
    i = close + 1;
  } else {
    for (; i < n; i++) {
      const c = host.charCodeAt(i);
      if (c === 58 /* : */) break;
      if (c === PERCENT && (hexValue(host.charCodeAt(i + 1)) < 0 || hexValue(host.charCodeAt(i + 2)) < 0)) return false;
      if (!isRegNameChar(c)) return false;
    }
    if (i === 0) return false;
  }
  if (i === n) return true;
  if (host.charCodeAt(i) !== 58) return false;
  const port = n - i - 1;
  if (port > 5) return false;
  for (let j = i + 1; j < n; j++) {
    const c = host.charCodeAt(j);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isRegNameChar(c: number): boolean {
  // unreserved / pct-encoded ("%") / sub-delims: ! $ & ' ( ) * + , ; =
  return isUnreserved(c) || c === PERCENT || c === 33 || c === 36 || (c >= 38 && c <= 44) || c === 59 || c === 61;
}
