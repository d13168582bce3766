// The shared account key at rest: stored plain before `encryptionKey` was set, it is sealed in place
// (compare-and-set on its version), the same key and account kept.
import { describe, expect, it } from 'vitest';
import { AcmeAccount } from '../../../src/acme/account.js';
import { KeySeal } from '../../../src/acme/key-seal.js';
import { AcmeRecords } from '../../../src/acme/records.js';
import { MemoryStore } from '../../../src/store/memory.js';

const OPTIONS = { directory: 'https://ca.test/dir', email: undefined, timeoutMs: 1_000 };
const PLAIN = { key: { plain: 'ACCOUNT-PEM' }, url: 'https://ca.test/acct/1', directory: OPTIONS.directory };

describe('AcmeAccount.sealStored', () => {
  it('seals a plain account key with the configured secret, once', async () => {
    const records = new AcmeRecords(new MemoryStore());
    await records.putAccount(PLAIN, 0);
    const seal = new KeySeal('a long random secret');
    const account = new AcmeAccount(records, seal, OPTIONS);
    await account.sealStored();
    const after = await records.account();
    expect(after).toMatchObject({ version: 2, value: { url: PLAIN.url, directory: PLAIN.directory } });
    expect(after?.value.key).toHaveProperty('aes256gcm');
    expect(seal.open(after!.value.key)).toEqual({ pem: 'ACCOUNT-PEM' });
    await account.sealStored();
    expect((await records.account())?.version).toBe(2);
  });

  it('leaves a plain key plain without a secret, and a record changed meanwhile alone', async () => {
    const records = new AcmeRecords(new MemoryStore());
    await records.putAccount(PLAIN, 0);
    await new AcmeAccount(records, new KeySeal(undefined), OPTIONS).sealStored();
    expect(await records.account()).toEqual({ version: 1, value: PLAIN });
    // Another leader writes between this one's read and its write: the compare-and-set refuses it.
    const racing = Object.create(records) as AcmeRecords;
    racing.account = async () => {
      const read = await records.account();
      await records.putAccount({ ...PLAIN, url: 'https://ca.test/acct/2' }, read!.version);
      return read;
    };
    await new AcmeAccount(racing, new KeySeal('a long random secret'), OPTIONS).sealStored();
    expect(await records.account()).toEqual({ version: 2, value: { ...PLAIN, url: 'https://ca.test/acct/2' } });
  });
});
