// Every replica serves the certificates the leader stored: each round re-reads the host's record and
// hands a changed certificate to the TLS listener (compared by content: a store that restarted empty
// restarts its versions too). A record that vanished keeps its certificate serving here until the
// leader orders a new one, and so does one that would be a step back (below).
import type { SecureContext } from 'node:tls';
import { serverContext } from '../dataplane/server-tls.js';
import type { Clock } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { KeySeal } from './key-seal.js';
import type { AcmeMetrics } from './metrics.js';
import type { AcmeRecords, CertificateRecord } from './records.js';

/** The data plane's side: where this replica's TLS listener takes an ACME certificate for a host. */
export interface CertificateSink {
  put(host: string, context: SecureContext): void;
  /** The host is no longer ACME's (a reload removed it): its certificate leaves the listener. */
  remove(host: string): void;
}

export interface ShelfDeps {
  hosts: () => readonly string[];
  records: AcmeRecords;
  seal: KeySeal;
  sink: CertificateSink;
  metrics: AcmeMetrics;
  /** The configured directory: its certificates replace those of another one (staging → production). */
  directory: string;
  clock: Clock;
  log: Logger;
}

/** What is served for a host, as far as telling a newer record from an older one goes. */
type Served = Pick<CertificateRecord, 'notBefore' | 'notAfter' | 'issuedAt' | 'directory'>;

/**
 * Why `rec` must not replace `served`, or null. A store restored from a snapshot or read from a lagging
 * Redis replica may hold an older certificate than the one served: installing it would serve an
 * expired one, or an earlier issue. Older is by issue time, not expiry: a renewal may expire sooner than
 * the certificate it replaces (a CA that shortened lifetimes, a re-issue after a revocation). A record of
 * the configured directory outranks one of another directory whatever their dates, so a switch of
 * `directory` still takes effect.
 */
export function stepBack(rec: Served, served: Served | undefined, directory: string, now: number): string | null {
  if (served === undefined) return null;
  const iso = (t: number): string => new Date(t).toISOString();
  if (rec.notAfter <= now) return `the stored certificate expired on ${iso(rec.notAfter)}`;
  const rank = (s: Served): number => (s.directory === directory ? 1 : 0);
  if (rank(rec) !== rank(served)) return rank(rec) > rank(served) ? null : `the stored one is from ${rec.directory}`;
  // Some CAs round notBefore to the hour or day: a tie goes by when the leader stored it.
  if (rec.notBefore < served.notBefore || (rec.notBefore === served.notBefore && rec.issuedAt < served.issuedAt))
    return `the stored certificate was issued ${iso(rec.notBefore)}, before the one served (${iso(served.notBefore)})`;
  return null;
}

export class CertificateShelf {
  /** host → the certificate PEM last read (served or refused, so a refusal is reported once). */
  private readonly seen = new Map<string, string>();
  /** host → the certificate served here now. */
  private readonly served = new Map<string, Served>();

  constructor(private readonly d: ShelfDeps) {}

  /** Installs every certificate that changed in the store since the last call; drops hosts gone. */
  async refresh(): Promise<void> {
    const hosts = this.d.hosts();
    this.drop(hosts);
    for (const host of hosts) {
      const stored = await this.d.records.certificate(host);
      if (stored === null || this.seen.get(host) === stored.value.cert) continue;
      this.seen.set(host, stored.value.cert);
      this.install(host, stored.value);
    }
  }

  /**
   * A host a reload removed is no longer renewed: left in the listener, its certificate would keep
   * `covers()` true (plain HTTP for it redirected to HTTPS) until it expired, and its expiry metric
   * would go on as if it were served on purpose.
   */
  private drop(hosts: readonly string[]): void {
    const current = new Set(hosts);
    for (const host of [...this.seen.keys()].filter((h) => !current.has(h))) {
      this.seen.delete(host);
      this.d.sink.remove(host);
      this.d.metrics.forget(host);
      if (this.served.delete(host)) this.d.log.log('info', 'ACME certificate no longer served: host removed', { host });
    }
  }

  private install(host: string, rec: CertificateRecord): void {
    const now = this.d.clock.now();
    const notAfter = new Date(rec.notAfter).toISOString();
    const refused = stepBack(rec, this.served.get(host), this.d.directory, now);
    if (refused !== null) {
      const keeps = new Date(this.served.get(host)?.notAfter ?? 0).toISOString();
      this.d.log.log('warn', 'ACME certificate in the store not served: the current one keeps serving', {
        host,
        reason: refused,
        serving: `expires ${keeps}`,
      });
      return;
    }
    const opened = this.d.seal.open(rec.key);
    if ('problem' in opened) {
      this.d.log.log('error', 'ACME certificate cannot be served here', { host, error: opened.problem });
      return;
    }
    try {
      this.d.sink.put(host, serverContext(rec.cert, opened.pem));
    } catch (e) {
      this.d.log.log('error', 'ACME certificate cannot be served here', { host, error: errorMessage(e) });
      return;
    }
    this.served.set(host, {
      notBefore: rec.notBefore,
      notAfter: rec.notAfter,
      issuedAt: rec.issuedAt,
      directory: rec.directory,
    });
    this.d.metrics.serving(host, rec.notAfter);
    // Nothing else was served for the host (a replica starting): an expired one still brings the site
    // up under its name, and the leader orders a new one at once (it is long past due).
    const level = rec.notAfter <= now ? 'warn' : 'info';
    this.d.log.log(level, level === 'warn' ? 'serving an expired ACME certificate' : 'serving ACME certificate', {
      host,
      notAfter,
    });
  }
}
