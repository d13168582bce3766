// Host key checking for ssh Docker endpoints, as OpenSSH does it: the key the server presents must be
// listed for that host in a known_hosts file (plain or hashed `|1|salt|hash` names, `[host]:port`
// for a port other than 22), or match a configured `SHA256:` fingerprint. Pure; the file is read by
// the caller.
import { createHash, createHmac } from 'node:crypto';

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The name known_hosts uses for a host and port. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

function nameMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (salt === undefined || hash === undefined) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  return pattern.split(',').some((p) => p === name);
}

export type HostKeyCheck = { ok: true } | { ok: false; reason: string };

/**
 * Whether `keyBlob` is a known key of `name` in the known_hosts `text`. Markers other than none
 * (`@revoked`, `@cert-authority`) are not supported: a revoked line refuses, a CA line is skipped.
 */
export function checkKnownHosts(text: string, name: string, keyBlob: Buffer): HostKeyCheck {
  let listed = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [names, , key] = fields;
    if (names === undefined || key === undefined || !nameMatches(names, name)) continue;
    if (marker === '@cert-authority') continue;
    const same = Buffer.from(key, 'base64').equals(keyBlob);
    if (same && marker === '@revoked') return { ok: false, reason: `the host key of ${name} is marked @revoked` };
    if (same) return { ok: true };
    listed = true;
  }
  const fp = fingerprintOf(keyBlob);
  return listed
    ? { ok: false, reason: `the host key of ${name} does not match known_hosts (it presented ${fp}): refused` }
    : {
        ok: false,
        reason: `the host key of ${name} (${fp}) is not in known_hosts: add it (ssh-keyscan) or set hostKeyFingerprint`,
      };
}

/** Checks against a configured fingerprint instead of a file. */
export function checkFingerprint(expected: string, name: string, keyBlob: Buffer): HostKeyCheck {
  const fp = fingerprintOf(keyBlob);
  return fp === expected.trim()
    ? { ok: true }
    : { ok: false, reason: `the host key of ${name} is ${fp}, not the configured hostKeyFingerprint: refused` };
}
