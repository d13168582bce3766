// The `tls` section: the HTTPS listener, its certificates (chosen by SNI), the plain-HTTP redirect,
// HSTS, HTTP/2 over ALPN and its limits. Every default lives here. The files themselves are checked
// (exist, PEM, key matches, expiry) by config/tls-check.ts, which `veer validate` and `start` share.
import { z } from 'zod';
import { acmeSchema } from './acme-schema.js';
import { listenAddress, periodValue, sizeValue } from './values.js';

const certificatePair = z
  .object({
    /** PEM certificate, optionally followed by its chain. */
    cert: z.string().min(1, 'expected the path of a PEM certificate file'),
    /** PEM private key matching `cert`. */
    key: z.string().min(1, 'expected the path of a PEM private key file'),
  })
  .strict();

export const http2LimitsSchema = z
  .object({
    /** Streams a client may have open at once on one connection; more are refused (REFUSED_STREAM). */
    maxConcurrentStreams: z.number().int().min(1).max(10_000).default(100),
    /**
     * Decoded size of a request's header list; a larger one is refused before it reaches veer. Node checks
     * the value only when a connection's session is built, where a bad one threw on the first client: hence
     * bounds here, with room above any real header list (HTTP/1.1's is 16 KiB).
     */
    maxHeaderListSize: sizeValue
      .refine((b) => b >= 1024 && b <= 16 * 1024 * 1024, { message: 'must be between 1kb and 16mb' })
      .prefault('32kb'),
    /**
     * Rapid-reset flood protection (CVE-2023-44487): a connection may cancel this many streams in a
     * burst, refilled at `streamResetRate` per second; beyond it, veer sends GOAWAY and closes it.
     */
    streamResetBurst: z.number().int().min(1).max(100_000).default(200),
    streamResetRate: z.number().int().min(1).max(100_000).default(50),
  })
  .strict()
  .prefault({});

export const tlsSchema = z
  .object({
    listen: listenAddress.prefault('0.0.0.0:8443'),
    /** Chosen by SNI from each certificate's names (SAN DNS names, else the CN; exact names before wildcards). */
    certificates: z.array(certificatePair).default([]),
    /** Served when the client's name matches no certificate (or it sent none); without it the handshake fails. */
    defaultCertificate: certificatePair.optional(),
    /** Plain-HTTP requests for a host a certificate names get 308 to https (ACME HTTP-01 paths excepted). */
    redirect: z.boolean().default(true),
    /** Strict-Transport-Security value on HTTPS answers, e.g. "max-age=31536000"; absent: none. */
    hsts: z
      .string()
      .regex(/^max-age=\d+(\s*;\s*[A-Za-z-]+(=\d+)?)*$/i, 'expected e.g. "max-age=31536000; includeSubDomains"')
      .optional(),
    /** ALPN h2 for clients; HTTP/1.1 is served on the same port either way. */
    http2: z.boolean().default(true),
    http2Limits: http2LimitsSchema,
    /** How often the certificate files are checked for changes (a changed file is served to new connections). */
    watchInterval: periodValue(10).prefault('5s'),
    /** Certificates obtained and renewed from an ACME server, shared by every replica through the state store. */
    acme: acmeSchema.optional(),
  })
  .strict()
  .refine((t) => t.certificates.length > 0 || t.defaultCertificate !== undefined || t.acme !== undefined, {
    path: ['certificates'],
    message: 'expected at least one { cert, key } (or a defaultCertificate, or an `acme` section)',
  });

export type TlsConfig = z.output<typeof tlsSchema>;
export type CertificatePair = z.output<typeof certificatePair>;
