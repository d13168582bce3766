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
    expect(!revoked.ok && revoked.reason).toBe('the host key of h is revoked in known_hosts line 1: refused');
    // A CA line is not a host key.
    expect(checkKnownHosts(`@cert-authority h ssh-ed25519 ${b64(KEY)}`, 'h', KEY).ok).toBe(false);
  });

  it('refuses a revoked key whatever the revocation names and wherever it stands', () => {
    const listed = `h ssh-ed25519 ${b64(KEY)}\n`;
    const reason = (text: string): string | false => {
      const r = checkKnownHosts(text, 'h', KEY);
      return !r.ok && r.reason;
    };
    // After the line that lists the key: the revocation still wins.
    expect(reason(`${listed}@revoked h ssh-ed25519 ${b64(KEY)}\n`)).toBe(
      'the host key of h is revoked in known_hosts line 2: refused',
    );
    // The sshd(8) example `@revoked * …`, and a revocation naming some other host: the key is revoked.
    expect(reason(`${listed}# note\n@revoked * ssh-ed25519 ${b64(KEY)}`)).toMatch(/revoked in known_hosts line 3/);
    expect(reason(`${listed}@revoked elsewhere ssh-ed25519 ${b64(KEY)}`)).toMatch(/revoked in known_hosts line 2/);
    // Revoking another key leaves this one accepted.
    expect(checkKnownHosts(`${listed}@revoked * ssh-ed25519 ${b64(OTHER)}`, 'h', KEY)).toEqual({ ok: true });
  });

  it('reads host patterns as OpenSSH does: * and ? globs, ! excludes the line, names without case', () => {
    const line = (names: string): string => `${names} ssh-ed25519 ${b64(KEY)}`;
    const ok = (names: string, name: string): boolean => checkKnownHosts(line(names), name, KEY).ok;
    expect(ok('*.example.com', 'docker.example.com')).toBe(true);
    expect(ok('*.example.com', 'example.com')).toBe(false);
    expect(ok('docker?.example.com', 'docker1.example.com')).toBe(true);
    expect(ok('docker?.example.com', 'docker12.example.com')).toBe(false);
    expect(ok('*', '[10.0.0.5]:2222')).toBe(true);
    expect(ok('[10.0.0.*]:2222', '[10.0.0.5]:2222')).toBe(true);
    expect(ok('*a*b', 'xaxxbxab')).toBe(true);
    expect(ok('Docker.Example.com', 'docker.example.COM')).toBe(true);
    // A matching negation excludes the line even when another pattern on it matches; a lone one matches nothing.
    expect(ok('!docker.example.com,docker.example.com', 'docker.example.com')).toBe(false);
    expect(ok('*.example.com,!bad.example.com', 'bad.example.com')).toBe(false);
    expect(ok('*.example.com,!bad.example.com', 'good.example.com')).toBe(true);
    expect(ok('!bad.example.com', 'good.example.com')).toBe(false);
    // An excluded line lists nothing: the host reads as unlisted, not as a changed key.
    const r = checkKnownHosts(line('!h,h'), 'h', KEY);
    expect(!r.ok && r.reason).toMatch(/is not in known_hosts/);
  });

  it('checks a configured fingerprint in OpenSSH form', () => {
    const fp = fingerprintOf(KEY);
    expect(fp).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
    expect(checkFingerprint(fp, 'h', KEY)).toEqual({ ok: true });
    expect(checkFingerprint(fp, 'h', OTHER).ok).toBe(false);
  });
});
