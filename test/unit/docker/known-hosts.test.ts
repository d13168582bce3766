import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkFingerprint, checkKnownHosts, fingerprintOf, knownHostsName } from '../../../src/docker/known-hosts.js';

// Two made-up key blobs: the check compares bytes, not key semantics.
const KEY = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOrealkeybytes1234567890abcdefghijklmnopq', 'base64');
const OTHER = Buffer.from('AAAAC3NzaC1lZDI1NTE5AAAAIOotherkeybytes123456789abcdefghijklmnopq', 'base64');
const b64 = (k: Buffer): string => k.toString('base64');

function hashed(name: string): string {
  const salt = randomBytes(20);
  return `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update(name).digest('base64')}`;
}

describe('known_hosts', () => {
  it('names a non-22 port in brackets', () => {
    expect(knownHostsName('10.0.0.5', 22)).toBe('10.0.0.5');
    expect(knownHostsName('127.0.0.1', 2222)).toBe('[127.0.0.1]:2222');
  });

  it('accepts a listed key under a plain, comma-listed or hashed name', () => {
    const name = '[127.0.0.1]:2222';
    expect(checkKnownHosts(`${name} ssh-ed25519 ${b64(KEY)}\n`, name, KEY)).toEqual({ ok: true });
    expect(checkKnownHosts(`other,${name} ssh-ed25519 ${b64(KEY)}`, name, KEY)).toEqual({ ok: true });
    expect(checkKnownHosts(`# comment\n${hashed(name)} ssh-ed25519 ${b64(KEY)}`, name, KEY)).toEqual({ ok: true });
  });

  it('refuses a changed key, naming the host and the presented fingerprint', () => {
    const r = checkKnownHosts(`h ssh-ed25519 ${b64(OTHER)}`, 'h', KEY);
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.reason).toBe(
        `the host key of h does not match known_hosts (it presented ${fingerprintOf(KEY)}): refused`,
      );
  });

  it('refuses an unlisted host, saying how to add it, and a revoked key', () => {
    const r = checkKnownHosts(`other ssh-ed25519 ${b64(KEY)}`, 'h', KEY);
    expect(!r.ok && r.reason).toMatch(/host key of h .* is not in known_hosts: add it/);
    const revoked = checkKnownHosts(`@revoked h ssh-ed25519 ${b64(KEY)}`, 'h', KEY);
    expect(!revoked.ok && revoked.reason).toMatch(/@revoked/);
    // A CA line is not a host key.
    expect(checkKnownHosts(`@cert-authority h ssh-ed25519 ${b64(KEY)}`, 'h', KEY).ok).toBe(false);
  });

  it('checks a configured fingerprint in OpenSSH form', () => {
    const fp = fingerprintOf(KEY);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(checkFingerprint(fp, 'h', KEY)).toEqual({ ok: true });
    expect(checkFingerprint(fp, 'h', OTHER).ok).toBe(false);
  });
});
