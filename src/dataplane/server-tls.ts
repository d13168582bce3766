// The TLS settings every certificate veer serves shares, in one place: whatever makes a secure context
// for the listener (a configured file, an ACME certificate, the default) takes them, so no path can serve
// a weaker handshake than the others.
import { constants } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';

/**
 * TLS 1.2 and 1.3 only. No renegotiation: a TLS 1.2 client may otherwise ask for new handshakes (Node
 * allows 3 per 10 minutes), each a full handshake's CPU on the server; nginx refuses them all too.
 */
export const SERVER_TLS = {
  minVersion: 'TLSv1.2',
  secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
} as const;

/** A context serving `cert` (PEM, with its chain) with `key`. */
export function serverContext(cert: string, key: string): SecureContext {
  return createSecureContext({ cert, key, ...SERVER_TLS });
}
