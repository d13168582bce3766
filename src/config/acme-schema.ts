// The `tls.acme` section: certificates obtained and renewed automatically from an ACME server (Let's
// Encrypt, a private CA, pebble in tests). Every default lives here; the CA bundle file and whether
// any host is left to order for are checked by config/tls-check.ts (`veer validate` and `start`).
import { z } from 'zod';
import { dnsNameProblem } from '../acme/hosts.js';
import { periodValue, positiveDuration } from './values.js';

/** An exact DNS name a CA issues for over http-01 or tls-alpn-01 (no wildcard, IP, port or single label). */
const acmeHost = z.string().superRefine((name, ctx) => {
  const problem = dnsNameProblem(name);
  if (problem !== null)
    ctx.addIssue({ code: 'custom', message: `expected an exact DNS name such as "app.example.com", ${problem}` });
});

export const acmeSchema = z
  .object({
    /** The ACME server's directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory. */
    directory: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of an ACME directory' }),
    /** Contact address registered with the account (expiry notices from the CA). */
    email: z.email({ error: 'expected an e-mail address, e.g. ops@example.com' }).optional(),
    /** Names to obtain certificates for (one certificate per name); default: the services' exact hosts. */
    hosts: z.array(acmeHost).min(1, 'list at least one host, or leave `hosts` out').optional(),
    /**
     * How the server checks that veer answers for a name: http-01 on the plain listener (port 80 seen from
     * the CA), tls-alpn-01 on the HTTPS listener (port 443 seen from the CA; no plain port needed).
     */
    challenge: z.enum(['http-01', 'tls-alpn-01']).default('http-01'),
    /** PEM CA certificates trusted for the directory's HTTPS, besides the system's (a private or test CA). */
    caBundle: z.string().min(1, 'expected the path of a PEM file').optional(),
    /**
     * Encrypts the private keys kept in the state store (AES-256-GCM, key derived with scrypt); absent:
     * stored as plain PEM. Every replica needs the same value. Use a long random secret, e.g. "${VEER_ACME_KEY}".
     */
    encryptionKey: z.string().min(16, 'expected at least 16 characters (a long random secret)').optional(),
    /** Bound of each request to the ACME server and of each wait for it (challenge, order, certificate). */
    timeout: positiveDuration('30s'),
    /** First wait after a failed order or renewal; doubled per failure (jittered) up to `retryMax`. */
    retryMin: periodValue(1000).prefault('1m'),
    retryMax: positiveDuration('6h'),
  })
  .strict()
  .superRefine((a, ctx) => {
    if (a.retryMin > a.retryMax)
      ctx.addIssue({ code: 'custom', path: ['retryMin'], message: 'must not be longer than retryMax' });
  });

export type AcmeConfig = z.output<typeof acmeSchema>;
