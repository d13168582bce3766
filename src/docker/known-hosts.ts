// Host key checking for ssh Docker endpoints, as OpenSSH does it: the key the server presents must be
// listed for that host in a known_hosts file (hashed `|1|salt|hash` names or `*`/`?`/`!` patterns,
// `[host]:port` for a port other than 22) and not revoked there, or match a configured `SHA256:`
// fingerprint. Pure; the file is read by the caller.
import { createHash, createHmac } from 'node:crypto';

/** OpenSSH's fingerprint of a public key blob: `SHA256:` and unpadded base64. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The name known_hosts uses for a host and port. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** An OpenSSH glob: `*` is any run of characters, `?` any one; nothing else is special. */
function globMatches(pattern: string, name: string): boolean {
  let p = 0;
  let n = 0;
  let star = -1;
  let resume = 0;
  while (n < name.length) {
    if (p < pattern.length && (pattern[p] === '?' || pattern[p] === name[n])) {
      p++;
      n++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = n;
    } else if (star >= 0) {
      // Let the last `*` swallow one more character and retry from there.
      p = star + 1;
      n = ++resume;
    } else return false;
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/**
 * Whether a line's host field names `name`, as sshd(8) reads it: a hashed `|1|salt|hash` name, or a
 * comma list of globs where a matching `!pattern` excludes the line whatever else matches (host names
 * are compared without case, as OpenSSH lowercases them).
 */
function nameMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (salt === undefined || hash === undefined) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  const lower = name.toLowerCase();
  let matched = false;
  for (const p of field.toLowerCase().split(',')) {
    if (p.startsWith('!')) {
      if (globMatches(p.slice(1), lower)) return false;
    } else if (globMatches(p, lower)) matched = true;
  }
  return matched;
}

export type HostKeyCheck = { ok: true } | { ok: false; reason: string };

type KnownHostsLine = { lineNo: number; marker: string | undefined; names: string; key: Buffer };

function parseLines(text: string): KnownHostsLine[] {
  const lines: KnownHostsLine[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [names, , key] = fields;
    if (names !== undefined && key !== undefined)
      lines.push({ lineNo: i + 1, marker, names, key: Buffer.from(key, 'base64') });
  });
  return lines;
}

/**
 * Whether `keyBlob` is a known key of `name` in the known_hosts `text`. A `@revoked` line carrying the
 * presented key refuses it whatever its host pattern and wherever it stands in the file: a revocation
 * must win over any line that lists the key (sshd(8): "must not ever be accepted"). `@cert-authority`
 * lines are not supported and are skipped, so a CA never vouches for a host.
 */
export function checkKnownHosts(text: string, name: string, keyBlob: Buffer): HostKeyCheck {
  const lines = parseLines(text);
  const revoked = lines.find((l) => l.marker === '@revoked' && l.key.equals(keyBlob));
  if (revoked !== undefined)
    return { ok: false, reason: `the host key of ${name} is revoked in known_hosts line ${revoked.lineNo}: refused` };
  const listed = lines.filter((l) => l.marker === undefined && nameMatches(l.names, name));
  if (listed.some((l) => l.key.equals(keyBlob))) return { ok: true };
  const fp = fingerprintOf(keyBlob);
  return listed.length > 0
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
