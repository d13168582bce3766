// The TLS settings of every secure context veer serves, in one place. What OpenSSL enforces comes from the
// listener's base context (tls-listener.ts: its options and the default certificate's context); the
// contexts chosen by name (a configured file, an ACME certificate) carry the same, so none differs.
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
