// Private keys at rest: plain without a secret, AES-256-GCM with one; a sealed key opens only with
// the same secret, and a tampered one does not open at all.
import { describe, expect, it } from 'vitest';
import { KeySeal } from '../../../src/acme/key-seal.js';

const PEM =
  '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';

describe('KeySeal', () => {
  it('stores plain PEM without a secret', () => {
    const seal = new KeySeal(undefined);
    expect(seal.seal(PEM)).toEqual({ plain: PEM });
    expect(seal.open({ plain: PEM })).toEqual({ pem: PEM });
  });

  it('round-trips through AES-256-GCM, with a fresh IV each time', () => {
    const seal = new KeySeal('a long random secret');
    const a = seal.seal(PEM);
    const b = seal.seal(PEM);
    expect(JSON.stringify(a)).not.toContain('PRIVATE KEY');
    expect(a).not.toEqual(b);
    expect(seal.open(a)).toEqual({ pem: PEM });
    expect(new KeySeal('a long random secret').open(b)).toEqual({ pem: PEM });
  });

  it('says why a sealed key cannot be opened', () => {
    const sealed = new KeySeal('a long random secret').seal(PEM);
    expect(new KeySeal('another secret, also long').open(sealed)).toEqual({
      problem: 'the key does not open with this acme.encryptionKey (another secret sealed it)',
    });
    expect(new KeySeal(undefined).open(sealed)).toEqual({
      problem: 'the key is encrypted and acme.encryptionKey is not set here',
    });
    if (!('aes256gcm' in sealed)) throw new Error('expected a sealed key');
    const data = Buffer.from(sealed.aes256gcm.data, 'base64');
    data[0] = (data[0] ?? 0) ^ 1;
    const tampered = { aes256gcm: { ...sealed.aes256gcm, data: data.toString('base64') } };
    expect('problem' in new KeySeal('a long random secret').open(tampered)).toBe(true);
  });
});
