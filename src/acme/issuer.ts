// The leader's part: for each host, order a certificate when it has none or two thirds of its lifetime
// have passed, retry a failure with jittered backoff, and store the result for every replica. A new
// leader reads the same records, so it picks up where the old one left off: a host with a valid,
// not-yet-due certificate in the store from the configured directory is never ordered again. On
// failure the old certificate keeps serving (nothing is removed); an event and a metric say so.
import type acme from 'acme-client';
import type { Clock, Random } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { Versioned } from '../store/port.js';
import type { AcmeAccount } from './account.js';
import type { KeySeal } from './key-seal.js';
import type { AcmeMetrics } from './metrics.js';
import { orderCertificate, type ChallengeBoard, type ChallengeType } from './order.js';
import type { AcmeRecords, CertificateRecord } from './records.js';
import { attemptAt, retryDelay, retryTime, type Backoff } from './renewal.js';

/** Far longer than any order's validation (each step is bounded by `acme.timeout`). */
const STALE_ANSWER_MS = 3_600_000;

export type AcmeOutcome = 'issued' | 'renewed' | 'failed';

export interface AcmeNotice {
  host: string;
  outcome: AcmeOutcome;
  message: string;
  data: Record<string, unknown>;
}

export interface IssuerDeps {
  hosts: () => readonly string[];
  records: AcmeRecords;
  account: AcmeAccount;
  seal: KeySeal;
  board: ChallengeBoard;
  challenge: ChallengeType;
  leading: () => boolean;
  /** Whether a configured certificate file serves the name: those win over ACME. */
  configured: (host: string) => boolean;
  clock: Clock;
  random: Random;
  backoff: Backoff;
  timeoutMs: number;
  directory: string;
  /** When the CA last asked not to be asked again before (Retry-After), forgotten once read; null: it did not. */
  retryAfter?: () => number | null;
  notify: (n: AcmeNotice) => void;
  metrics: AcmeMetrics;
  log: Logger;
}

export class CertificateIssuer {
  private readonly failures = new Map<string, { count: number; retryAt: number }>();

  constructor(private readonly d: IssuerDeps) {}

  /** Orders what is due (only while leading); returns when something is next due (ms since the epoch). */
  async run(): Promise<number> {
    let next = Number.POSITIVE_INFINITY;
    let client: acme.Client | null = null;
    if (this.d.leading()) await this.d.account.sealStored();
    for (const host of this.d.hosts()) {
      if (!this.d.leading()) break;
      const stored = await this.resealed(host, await this.d.records.certificate(host));
      if (this.d.configured(host)) continue;
      // One from another directory (staging before production) counts as none: it is ordered now, and
      // the old one keeps serving until the new one is stored over it (compare-and-set on its version).
      const current = stored?.value.directory === this.d.directory ? stored.value : null;
      const at = attemptAt(current, this.failures.get(host)?.retryAt ?? null);
      if (this.d.clock.now() < at) {
        next = Math.min(next, at);
        continue;
      }
      try {
        if (client === null) await this.sweep();
        this.d.retryAfter?.(); // a Retry-After from before is not this order's
        client ??= await this.d.account.client();
        await this.order(client, host, current, stored?.version ?? 0);
      } catch (e) {
        this.failed(host, stored?.value ?? null, e);
      }
      next = Math.min(next, attemptAt(null, this.failures.get(host)?.retryAt ?? null));
    }
    return next;
  }

  /**
   * A certificate key stored plain before `encryptionKey` was set is sealed in place, not left readable
   * until the next renewal: same record otherwise (no order), compare-and-set on its version.
   */
  private async resealed(host: string, stored: Versioned<CertificateRecord> | null) {
    if (stored === null || !this.d.seal.shouldSeal(stored.value.key)) return stored;
    const opened = this.d.seal.open(stored.value.key);
    if ('problem' in opened) return stored;
    const value = { ...stored.value, key: this.d.seal.seal(opened.pem) };
    if (!(await this.d.records.putCertificate(value, stored.version))) return stored;
    this.d.log.log('info', 'ACME certificate key now encrypted in the store', { host });
    return { value, version: stored.version + 1 };
  }

  /** Answers left by an order that never finished (its leader died) are removed before the next one. */
  private async sweep(): Promise<void> {
    const removed = await this.d.records.sweep(this.d.clock.now() - STALE_ANSWER_MS);
    if (removed > 0) this.d.log.log('info', 'removed stale ACME challenge answers', { removed });
  }

  private async order(client: acme.Client, host: string, old: CertificateRecord | null, version: number) {
    const issued = await orderCertificate(client, host, this.d.board, this.d.challenge, this.d.timeoutMs);
    const { cert, notBefore, notAfter } = issued;
    const rec = { host, cert, key: this.d.seal.seal(issued.key), notBefore, notAfter, directory: this.d.directory };
    const stored = await this.d.records.putCertificate({ ...rec, issuedAt: this.d.clock.now() }, version);
    this.failures.delete(host);
    this.d.metrics.ordered('success');
    // Lost the compare-and-set: another leader stored one meanwhile, which every replica serves.
    if (!stored) return this.d.log.log('warn', 'ACME certificate not stored: a newer one is there', { host });
    const outcome = old === null ? 'issued' : 'renewed';
    const expires = new Date(notAfter).toISOString();
    this.d.notify({ host, outcome, message: `certificate ${outcome} for ${host} (expires ${expires})`, data: {} });
  }

  private failed(host: string, old: CertificateRecord | null, e: unknown): void {
    const count = (this.failures.get(host)?.count ?? 0) + 1;
    const asked = this.d.retryAfter?.() ?? null;
    const retryAt = retryTime(this.d.clock.now(), retryDelay(count, this.d.backoff, this.d.random), asked);
    this.failures.set(host, { count, retryAt });
    this.d.metrics.ordered('failure');
    const serving =
      old === null ? 'no certificate yet' : `the current one expires ${new Date(old.notAfter).toISOString()}`;
    const error = errorMessage(e);
    this.d.log.log('warn', 'ACME order failed', { host, failures: count, error, retryAt: new Date(retryAt) });
    this.d.notify({
      host,
      outcome: 'failed',
      message: `ACME order for ${host} failed (${error}); ${serving}; next attempt ${new Date(retryAt).toISOString()}`,
      data: {
        failures: count,
        retryAt: new Date(retryAt).toISOString(),
        ...(asked === null ? {} : { retryAfter: new Date(asked).toISOString() }),
      },
    });
  }
}
