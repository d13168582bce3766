// Why a request to the admin API got no answer, in an operator's words. node:http and OpenSSL report
// with codes and library internals (`ssl3_get_record:wrong version number:../deps/openssl/…`); each
// common code becomes a sentence naming the address and, where it helps, the likely mistake.
import { errorMessage } from '../domain/errors.js';
import type { ClientFailure } from './client.js';

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EADDRNOTAVAIL',
  'EPIPE',
]);
const TIMEOUT = new Set(['ETIMEDOUT']);
/** The server's certificate was refused: each with the reason in a few words. */
const CERTIFICATE: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'it is self-signed; trust it with NODE_EXTRA_CA_CERTS',
  SELF_SIGNED_CERT_IN_CHAIN: 'its chain ends in an untrusted root; trust it with NODE_EXTRA_CA_CERTS',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'its issuer is not trusted; trust it with NODE_EXTRA_CA_CERTS',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'its issuer is not trusted; trust it with NODE_EXTRA_CA_CERTS',
  CERT_HAS_EXPIRED: 'it has expired',
  CERT_NOT_YET_VALID: 'it is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'it is not for this host name',
};

function errorCodes(e: unknown): string[] {
  if (typeof e !== 'object' || e === null) return [];
  const own = (e as { code?: unknown }).code;
  // Happy-eyeballs connects fail with an AggregateError whose members carry the codes.
  const nested = (e as { errors?: unknown }).errors;
  const cause = (e as { cause?: unknown }).cause;
  return [
    ...(typeof own === 'string' ? [own] : []),
    ...(Array.isArray(nested) ? nested.flatMap(errorCodes) : []),
    ...(cause !== undefined && cause !== e ? errorCodes(cause) : []),
  ];
}

const failure = (code: string, message: string): ClientFailure => ({ code, message, problems: [] });

export function transportFailure(e: unknown, base: string, timeoutMs: number): ClientFailure {
  const codes = errorCodes(e);
  const has = (test: (c: string) => boolean): boolean => codes.some(test);
  const name = e instanceof Error ? e.name : '';
  if (name === 'TimeoutError' || has((c) => TIMEOUT.has(c)))
    return failure('timeout', `veer admin at ${base} did not answer within ${timeoutMs / 1000}s`);
  const cert = codes.find((c) => CERTIFICATE[c] !== undefined);
  if (cert !== undefined)
    return failure('tls', `the TLS certificate of veer admin at ${base} was refused: ${CERTIFICATE[cert]}`);
  // node:https reports a plain-HTTP answer to its hello as EPROTO, with OpenSSL's reason only in the message.
  const plainAnswer =
    has((c) => c === 'EPROTO') && /wrong version number|packet length too long/i.test(errorMessage(e));
  if (plainAnswer || has((c) => c === 'ERR_SSL_WRONG_VERSION_NUMBER' || c === 'ERR_SSL_PACKET_LENGTH_TOO_LONG'))
    return failure('tls', `veer admin at ${base} did not answer in TLS (is it plain http://?)`);
  if (has((c) => c.startsWith('ERR_SSL_') || c === 'EPROTO' || c.startsWith('ERR_TLS_')))
    return failure('tls', `the TLS handshake with veer admin at ${base} failed (is it plain http://?)`);
  // A TLS server answering a plain request sends an alert, which the HTTP parser cannot read.
  if (name === 'HTTPParserError' || has((c) => c.startsWith('HPE_')))
    return failure('bad_response', `veer admin at ${base} did not answer in HTTP (is it https://?)`);
  if (has((c) => UNREACHABLE.has(c)))
    return failure('unreachable', `cannot reach veer admin at ${base} (is veer running?)`);
  // Unforeseen: its code says more than a library's message, which may span lines of internals.
  const what = codes[0] ?? (errorMessage(e).split('\n', 1)[0] || name || 'unknown error');
  return failure('request_failed', `request to veer admin at ${base} failed (${what})`);
}

/**
 * The API answered and refused (an unknown service, a wrong token), or what answered is not veer: asking
 * again cannot help, so a loop that retries (`--wait`, `status --watch`) ends on it. A 408 or 429 (from
 * veer or a proxy in front of it) says "later", not "never".
 */
export const isFinal = (f: ClientFailure): boolean =>
  (f.status !== undefined && f.status < 500 && f.status !== 408 && f.status !== 429) || f.code === 'bad_response';
