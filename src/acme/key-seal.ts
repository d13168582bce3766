// Private keys at rest in the state store: as plain PEM, or sealed with AES-256-GCM under a key
// derived from `acme.encryptionKey`. Sealed, a reader of Redis or the state file learns nothing it can
// serve a site with; every replica then needs the same secret to open them.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

export type SealedKey = { plain: string } | { aes256gcm: { iv: string; tag: string; data: string } };

/** A fixed salt: the derived key must be the same on every replica from the same secret. */
const SALT = 'veer-acme-private-keys';

export class KeySeal {
  private readonly key: Buffer | null;

  /** `secret` undefined: keys are stored as plain PEM. */
  constructor(secret: string | undefined) {
    this.key = secret === undefined ? null : scryptSync(secret, SALT, 32);
  }

  seal(pem: string): SealedKey {
    if (this.key === null) return { plain: pem };
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(pem, 'utf8'), cipher.final()]);
    const b64 = (b: Buffer): string => b.toString('base64');
    return { aes256gcm: { iv: b64(iv), tag: b64(cipher.getAuthTag()), data: b64(data) } };
  }

  /** Whether `sealed` is plain PEM that this seal would encrypt (`encryptionKey` set since it was stored). */
  shouldSeal(sealed: SealedKey): boolean {
    return this.key !== null && 'plain' in sealed;
  }

  /** The PEM, or why it cannot be had (sealed without a secret here, or under another secret). */
  open(sealed: SealedKey): { pem: string } | { problem: string } {
    if ('plain' in sealed) return { pem: sealed.plain };
    if (this.key === null) return { problem: 'the key is encrypted and acme.encryptionKey is not set here' };
    try {
      const { iv, tag, data } = sealed.aes256gcm;
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      const pem = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]);
      return { pem: pem.toString('utf8') };
    } catch {
      return { problem: 'the key does not open with this acme.encryptionKey (another secret sealed it)' };
    }
  }
}
