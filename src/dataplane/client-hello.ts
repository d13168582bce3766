// The ALPN protocols a TLS ClientHello offers, read from the first bytes of a connection before the
// TLS server sees them: a certificate must be chosen by ALPN too (ACME tls-alpn-01 asks for
// `acme-tls/1` and must get the challenge certificate), and Node chooses it by SNI only.
// Pure; RFC 8446 §4.1.2 and RFC 7301 §3.1. A hello split over several records is not looked into.

/** What the bytes say: the offered protocols, more bytes needed, or not a ClientHello veer can read. */
export type HelloAlpn = { alpn: string[] } | 'incomplete' | 'unreadable';

const HANDSHAKE = 22;
const CLIENT_HELLO = 1;
const ALPN_EXTENSION = 16;

export function helloAlpn(b: Buffer): HelloAlpn {
  if (b.length < 5) return 'incomplete';
  if (b[0] !== HANDSHAKE) return 'unreadable';
  const recordEnd = 5 + b.readUInt16BE(3);
  if (b.length < recordEnd) return 'incomplete';
  // A record too short for the handshake header (type + 3-byte length) holds no readable hello.
  if (recordEnd < 9 || b[5] !== CLIENT_HELLO) return 'unreadable';
  const helloEnd = Math.min(recordEnd, 9 + b.readUIntBE(6, 3));
  // version (2) + random (32), then three length-prefixed fields: session id, cipher suites, compression.
  let at = 9 + 34;
  for (const width of [1, 2, 1]) {
    if (at + width > helloEnd) return 'unreadable';
    at += width + b.readUIntBE(at, width);
  }
  if (at + 2 > helloEnd) return { alpn: [] };
  const extensionsEnd = Math.min(helloEnd, at + 2 + b.readUInt16BE(at));
  at += 2;
  while (at + 4 <= extensionsEnd) {
    const type = b.readUInt16BE(at);
    const len = b.readUInt16BE(at + 2);
    if (type === ALPN_EXTENSION) return { alpn: protocols(b.subarray(at + 4, Math.min(at + 4 + len, extensionsEnd))) };
    at += 4 + len;
  }
  return { alpn: [] };
}

function protocols(ext: Buffer): string[] {
  const out: string[] = [];
  if (ext.length < 2) return out;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  for (let at = 2; at < end;) {
    const len = ext[at] ?? 0;
    if (len === 0 || at + 1 + len > end) break;
    out.push(ext.subarray(at + 1, at + 1 + len).toString('latin1'));
    at += 1 + len;
  }
  return out;
}
