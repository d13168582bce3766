// What ACME keeps in the state store, shared by every replica: the account, one certificate record
// per host, and the HTTP-01 key authorizations while an order is being validated.
import {
  ACME_ACCOUNT_KEY,
  ACME_ALPN_PREFIX,
  ACME_CHALLENGE_PREFIX,
  acmeAlpnKey,
  acmeCertificateKey,
  acmeChallengeKey,
} from '../store/keys.js';
import type { StateStore, Versioned } from '../store/port.js';
import type { SealedKey } from './key-seal.js';

export interface AccountRecord {
  key: SealedKey;
  /** The account's URL at the directory it was registered with (informational: the key finds it again). */
  url: string | null;
  directory: string;
}

export interface CertificateRecord {
  host: string;
  /** PEM: the certificate followed by its chain. */
  cert: string;
  key: SealedKey;
  /** ms since the epoch. */
  notBefore: number;
  notAfter: number;
  issuedAt: number;
  /** The directory that issued it. */
  directory: string;
}

export interface ChallengeRecord {
  keyAuthorization: string;
  host: string;
  since: number;
}

/** A tls-alpn-01 challenge certificate (RFC 8737): self-signed, throwaway, so its key is stored plain. */
export interface AlpnRecord {
  cert: string;
  key: string;
  since: number;
}

export class AcmeRecords {
  constructor(private readonly store: StateStore) {}

  account(): Promise<Versioned<AccountRecord> | null> {
    return this.store.get<AccountRecord>(ACME_ACCOUNT_KEY);
  }

  /** Only if the account is still what was read (0: absent): two leaders never keep two keys. */
  async putAccount(a: AccountRecord, expected: number): Promise<boolean> {
    return (await this.store.put(ACME_ACCOUNT_KEY, a, expected)).ok;
  }

  certificate(host: string): Promise<Versioned<CertificateRecord> | null> {
    return this.store.get<CertificateRecord>(acmeCertificateKey(host));
  }

  /** Compare-and-set on the version the order started from: a newer certificate is never replaced. */
  async putCertificate(c: CertificateRecord, expected: number): Promise<boolean> {
    return (await this.store.put(acmeCertificateKey(c.host), c, expected)).ok;
  }

  async keyAuthorization(token: string): Promise<string | null> {
    return (await this.store.get<ChallengeRecord>(acmeChallengeKey(token)))?.value.keyAuthorization ?? null;
  }

  async publish(token: string, c: ChallengeRecord): Promise<void> {
    await this.store.put(acmeChallengeKey(token), c);
  }

  withdraw(token: string): Promise<void> {
    return this.store.delete(acmeChallengeKey(token));
  }

  async alpnCertificate(host: string): Promise<AlpnRecord | null> {
    return (await this.store.get<AlpnRecord>(acmeAlpnKey(host)))?.value ?? null;
  }

  async publishAlpn(host: string, c: AlpnRecord): Promise<void> {
    await this.store.put(acmeAlpnKey(host), c);
  }

  withdrawAlpn(host: string): Promise<void> {
    return this.store.delete(acmeAlpnKey(host));
  }

  /**
   * Removes challenge answers published before `before` (an order cut short by a crash leaves its own);
   * returns how many. Lists keys, so it runs only before an order, not on every look.
   */
  async sweep(before: number): Promise<number> {
    let removed = 0;
    for (const prefix of [ACME_CHALLENGE_PREFIX, ACME_ALPN_PREFIX])
      for (const key of await this.store.keys(prefix)) {
        const v = await this.store.get<{ since?: unknown }>(key);
        if (v === null || typeof v.value.since !== 'number' || v.value.since >= before) continue;
        await this.store.delete(key);
        removed += 1;
      }
    return removed;
  }
}
