// The ACME account every replica shares: its key lives in the state store (sealed as configured), so
// a new leader signs as the same account. Registration is idempotent by key (RFC 8555 §7.3: a known
// key gets its existing account back), so it is simply done again before each round of orders; a
// directory that forgot the account (a test server restarted) gets it registered anew.
import type acme from 'acme-client';
import { withTimeout } from '../domain/async.js';
import { lazyPackage } from '../lazy-package.js';
import type { KeySeal } from './key-seal.js';
import type { Versioned } from '../store/port.js';
import type { AccountRecord, AcmeRecords } from './records.js';

const acmeClient = lazyPackage<typeof acme>('acme-client');

export interface AccountOptions {
  directory: string;
  email: string | undefined;
  timeoutMs: number;
}

/** acme-client polls a pending challenge or order this often (bounded by the step timeout anyway). */
const POLL = { backoffAttempts: 20, backoffMin: 250, backoffMax: 3_000 };

export class AcmeAccount {
  /** The stored key is known to be sealed as configured (checked once per process, then not read again). */
  private sealed = false;

  constructor(
    private readonly records: AcmeRecords,
    private readonly seal: KeySeal,
    private readonly o: AccountOptions,
  ) {}

  /** A client signed with the shared account key and registered with the directory. */
  async client(): Promise<acme.Client> {
    const { pem, version, url } = await this.key();
    const client = new (acmeClient().Client)({ directoryUrl: this.o.directory, accountKey: pem, ...POLL });
    const contact = this.o.email === undefined ? [] : [`mailto:${this.o.email}`];
    await withTimeout(client.createAccount({ termsOfServiceAgreed: true, contact }), this.o.timeoutMs, 'registering');
    const now = client.getAccountUrl();
    // Informational only (the key finds the account); a lost race here changes nothing.
    if (now !== url)
      await this.records.putAccount({ key: this.seal.seal(pem), url: now, directory: this.o.directory }, version);
    return client;
  }

  /**
   * A key stored plain before `encryptionKey` was set is sealed in place, so the store stops holding it
   * readable. Run by the leader each round: an account not due to order anything is sealed too.
   */
  async sealStored(): Promise<void> {
    if (this.sealed) return;
    const stored = await this.records.account();
    if (stored !== null) await this.resealed(stored);
  }

  /** The version after sealing `stored` (compare-and-set: a record changed meanwhile is left for next time). */
  private async resealed(stored: Versioned<AccountRecord>): Promise<number> {
    if (!this.seal.shouldSeal(stored.value.key)) {
      // Sealed already, or no secret here (then there is nothing to seal with, ever).
      this.sealed = true;
      return stored.version;
    }
    const opened = this.seal.open(stored.value.key);
    if ('problem' in opened) return stored.version;
    const ok = await this.records.putAccount({ ...stored.value, key: this.seal.seal(opened.pem) }, stored.version);
    this.sealed = ok;
    return ok ? stored.version + 1 : stored.version;
  }

  /** The stored key, or a new one stored only if none appeared meanwhile (then that one is used). */
  private async key(): Promise<{ pem: string; version: number; url: string | null }> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const stored = await this.records.account();
      if (stored !== null) {
        const opened = this.seal.open(stored.value.key);
        if ('problem' in opened) throw new Error(`cannot use the stored ACME account key: ${opened.problem}`);
        const sameDirectory = stored.value.directory === this.o.directory;
        const version = await this.resealed(stored);
        return { pem: opened.pem, version, url: sameDirectory ? stored.value.url : null };
      }
      const pem = (await acmeClient().crypto.createPrivateEcdsaKey('P-256')).toString('utf8');
      const record = { key: this.seal.seal(pem), url: null, directory: this.o.directory };
      if (await this.records.putAccount(record, 0)) return { pem, version: 1, url: null };
    }
    throw new Error('the ACME account record keeps changing under this replica');
  }
}
