// ACME (`tls.acme`): the shared records in the state store, the data plane's challenge answers and
// certificate book, the leader's orders, metrics and events.
import type { SecureContext } from 'node:tls';
import { serverContext } from '../dataplane/server-tls.js';
import { AcmeAccount } from '../acme/account.js';
import { acmeHosts, unorderable } from '../acme/hosts.js';
import { takeRetryAfter, trustDirectory } from '../acme/http-trust.js';
import { CertificateIssuer, type AcmeNotice } from '../acme/issuer.js';
import { KeySeal } from '../acme/key-seal.js';
import { AcmeManager } from '../acme/manager.js';
import { AcmeMetrics } from '../acme/metrics.js';
import type { ChallengeBoard } from '../acme/order.js';
import { AcmeRecords } from '../acme/records.js';
import { CertificateShelf } from '../acme/shelf.js';
import type { AcmeConfig } from '../config/acme-schema.js';
import type { CertificateBook } from '../dataplane/certificate-book.js';
import type { DataPlane } from '../dataplane/dataplane.js';
import type { Random } from '../domain/clock.js';
import { ConfigError } from '../domain/errors.js';
import { readRegularFileSync } from '../config/file-text.js';
import { ACME_CERTIFICATE_PREFIX } from '../store/keys.js';
import type { StateStore } from '../store/port.js';
import type { RedisStore } from '../store/redis.js';
import type { Base } from './base.js';
import type { Emit } from './events.js';

export interface AcmeParts {
  store: StateStore;
  redis: RedisStore | null;
  plane: DataPlane;
  random: Random;
  /** Whether this replica holds the lease (a single veer always does). */
  leading: () => boolean;
  emit: Emit;
}

/** Null without `tls.acme`; `start` once the data plane listens (the CA's challenge must reach it). */
export function buildAcme(b: Base, p: AcmeParts): { metrics: AcmeMetrics; start(): void } | null {
  const a = b.config.tls?.acme;
  const tls = p.plane.tls;
  if (a === undefined || tls === null) return null;
  // Read at every round: services a reload adds are ordered for too.
  const plane = p.plane;
  const skipped = new Set<string>();
  const hosts = (): readonly string[] => {
    const patterns = plane.serviceNames().flatMap((n) => plane.serviceConfig(n)?.match.hosts ?? []);
    if (a.hosts === undefined) reportSkipped(b, patterns, skipped);
    return acmeHosts(a.hosts, patterns);
  };
  const records = new AcmeRecords(p.store);
  const seal = new KeySeal(a.encryptionKey);
  const metrics = new AcmeMetrics();
  const release = trustDirectory(a.directory, a.caBundle === undefined ? null : caBundle(a.caBundle), a.timeout);
  const shelf = new CertificateShelf({
    hosts,
    records,
    seal,
    sink: {
      put: (host, context) => tls.book.put(`acme:${host}`, { names: [host], context, yields: true }),
      remove: (host) => tls.book.remove(`acme:${host}`),
    },
    metrics,
    directory: a.directory,
    clock: b.clock,
    log: b.log,
  });
  const issuer = leaderPart(b, p, a, { hosts, records, seal, metrics, book: tls.book });
  const manager = new AcmeManager(shelf, issuer, b.clock, b.log);
  p.plane.challenges.use((token) => records.keyAuthorization(token));
  // The HTTPS port reads ClientHellos only when it may have to answer `acme-tls/1`.
  if (a.challenge === 'tls-alpn-01') tls.alpnChallenges.use((host) => alpnContext(records, host));
  // Another replica (the leader) stored a certificate: serve it now rather than at the next look.
  const off = p.redis?.onChange((key) => {
    if (key.startsWith(ACME_CERTIFICATE_PREFIX)) manager.kick();
  });
  b.closers.add('acme', async () => {
    off?.();
    p.plane.challenges.use(null);
    tls.alpnChallenges.use(null);
    await manager.stop();
    release();
  });
  b.log.log('info', 'ACME certificates', { directory: a.directory, hosts: hosts() });
  return { metrics, start: () => manager.kick() };
}

/** Once per name: the services' hosts no certificate is ordered for (a reload may add some). */
function reportSkipped(b: Base, patterns: readonly string[], reported: Set<string>): void {
  const fresh = unorderable(patterns).filter((h) => !reported.has(h));
  if (fresh.length === 0) return;
  for (const h of fresh) reported.add(h);
  b.log.log('info', 'ACME: no certificate ordered for these service hosts (list names in tls.acme.hosts)', {
    hosts: fresh,
    why: 'a CA issues over http-01/tls-alpn-01 only for DNS names of two labels or more: no wildcard, no IP address',
  });
}

interface Shared {
  hosts: () => readonly string[];
  records: AcmeRecords;
  seal: KeySeal;
  metrics: AcmeMetrics;
  book: CertificateBook;
}

/** What only the leader does: order and renew, with events for every outcome. */
function leaderPart(b: Base, p: AcmeParts, a: AcmeConfig, s: Shared): CertificateIssuer {
  const { records, seal, metrics } = s;
  const notify = ({ message, host, outcome, data }: AcmeNotice): void =>
    p.emit({
      service: '*',
      rolloutId: null,
      kind: 'acme',
      phase: null,
      weight: null,
      message,
      data: { host, outcome, ...data },
    });
  return new CertificateIssuer({
    hosts: s.hosts,
    records,
    account: new AcmeAccount(records, seal, { directory: a.directory, email: a.email, timeoutMs: a.timeout }),
    seal,
    board: challengeBoard(records, () => b.clock.now()),
    challenge: a.challenge,
    leading: p.leading,
    configured: (host) => s.book.coversFirmly(host),
    ...{ clock: b.clock, random: p.random, log: b.log, metrics, notify },
    backoff: { minMs: a.retryMin, maxMs: a.retryMax },
    timeoutMs: a.timeout,
    directory: a.directory,
    retryAfter: () => takeRetryAfter(a.directory),
  });
}

/** Answers go to the store, where every replica's data plane finds them. */
function challengeBoard(records: AcmeRecords, now: () => number): ChallengeBoard {
  return {
    publish: async (a) => {
      if (a.type === 'http-01')
        return records.publish(a.token, { keyAuthorization: a.keyAuthorization, host: a.host, since: now() });
      return records.publishAlpn(a.host, { cert: a.cert, key: a.key, since: now() });
    },
    withdraw: (a) => (a.type === 'http-01' ? records.withdraw(a.token) : records.withdrawAlpn(a.host)),
  };
}

async function alpnContext(records: AcmeRecords, host: string): Promise<SecureContext | null> {
  const c = await records.alpnCertificate(host);
  return c === null ? null : serverContext(c.cert, c.key);
}

function caBundle(path: string): string {
  const read = readRegularFileSync(path);
  if (read.ok) return read.value.toString('utf8');
  throw new ConfigError('tls.acme: the CA bundle cannot be read', [
    { path: 'tls.acme.caBundle', message: `cannot read "${path}": ${read.error}` },
  ]);
}
