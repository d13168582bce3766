// Every replica serves the certificates the leader stored: each round re-reads the host's record and
// hands a changed certificate to the TLS listener (compared by content: a store that restarted empty
// restarts its versions too). A record that vanished keeps its certificate serving here until the
// leader orders a new one.
import type { SecureContext } from 'node:tls';
import { serverContext } from '../dataplane/server-tls.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { KeySeal } from './key-seal.js';
import type { AcmeMetrics } from './metrics.js';
import type { AcmeRecords } from './records.js';

/** The data plane's side: where this replica's TLS listener takes an ACME certificate for a host. */
export interface CertificateSink {
  put(host: string, context: SecureContext): void;
}

export interface ShelfDeps {
  hosts: () => readonly string[];
  records: AcmeRecords;
  seal: KeySeal;
  sink: CertificateSink;
  metrics: AcmeMetrics;
  log: Logger;
}

export class CertificateShelf {
  /** host → the certificate PEM served (or refused, so it is reported once). */
  private readonly seen = new Map<string, string>();

  constructor(private readonly d: ShelfDeps) {}

  /** Installs every certificate that changed in the store since the last call. */
  async refresh(): Promise<void> {
    for (const host of this.d.hosts()) {
      const stored = await this.d.records.certificate(host);
      if (stored === null || this.seen.get(host) === stored.value.cert) continue;
      this.seen.set(host, stored.value.cert);
      const rec = stored.value;
      const opened = this.d.seal.open(rec.key);
      if ('problem' in opened) {
        this.d.log.log('error', 'ACME certificate cannot be served here', { host, error: opened.problem });
        continue;
      }
      try {
        this.d.sink.put(host, serverContext(rec.cert, opened.pem));
      } catch (e) {
        this.d.log.log('error', 'ACME certificate cannot be served here', { host, error: errorMessage(e) });
        continue;
      }
      this.d.metrics.serving(host, rec.notAfter);
      this.d.log.log('info', 'serving ACME certificate', { host, notAfter: new Date(rec.notAfter).toISOString() });
    }
  }
}
