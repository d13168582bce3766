// Which host names and addresses stay on this machine. Shared by the admin API's DNS-rebinding guard,
// the refusal of targets that are veer itself, and the config checks, so they all agree.
import { isIP } from 'node:net';

/** `localhost` and any name under it: RFC 6761 reserves them for loopback, so no DNS zone can claim them. */
export function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * An IP literal (brackets allowed) in one canonical spelling: IPv6 compressed and lower-case, an
 * IPv4-mapped IPv6 address as its IPv4 form, without a zone. Anything else (names) comes back
 * lower-cased, without brackets or a trailing dot.
 */
export function canonicalHost(host: string): string {
  const bare = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 6) return bare.replace(/\.$/, '');
  // A zone (fe80::1%eth0) names the interface, not the address: `::1%lo` is ::1, and `::%lo` is ::, for every
  // check of "is this host this machine?" (the URL parser below would also refuse it, and throw).
  const zoneAt = bare.indexOf('%');
  if (zoneAt >= 0) return canonicalHost(bare.slice(0, zoneAt));
  // The WHATWG URL parser is the one IPv6 canonicaliser Node ships.
  const v6 = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(v6);
  if (!mapped) return v6;
  const hi = parseInt(mapped[1] as string, 16);
  const lo = parseInt(mapped[2] as string, 16);
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.');
}

/** 127.0.0.0/8 or ::1, in any spelling (including IPv4-mapped IPv6). */
export function isLoopbackIp(host: string): boolean {
  const h = canonicalHost(host);
  if (h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** 0.0.0.0 or ::, which a listener binds for "every interface" and a client reaches as this host. */
export function isUnspecifiedIp(host: string): boolean {
  const h = canonicalHost(host);
  return h === '0.0.0.0' || h === '::' || h === '';
}

/** The IP family of a canonical host (0 for a name). */
export function familyOf(host: string): 0 | 4 | 6 {
  return isIP(canonicalHost(host)) as 0 | 4 | 6;
}
