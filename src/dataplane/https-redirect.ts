// Plain-HTTP requests for a host veer holds a certificate for are sent to https (308 keeps the
// method and body), except ACME HTTP-01 challenges, which must be answered over plain HTTP.
const ACME_CHALLENGE = '/.well-known/acme-challenge/';

export interface RedirectPolicy {
  /** Whether a certificate names this host (without port). */
  covers(host: string): boolean;
  /** The HTTPS listener's port; 443 is left out of the Location. */
  port: number;
}

/** The Location to send a plain request to, or null to serve it as it is. */
export function httpsLocation(policy: RedirectPolicy, host: string | undefined, path: string): string | null {
  if (host === undefined || path.startsWith(ACME_CHALLENGE)) return null;
  const name = hostName(host);
  if (!policy.covers(name)) return null;
  const authority = name.includes(':') ? `[${name}]` : name;
  return `https://${authority}${policy.port === 443 ? '' : `:${policy.port}`}${path}`;
}

/** The host without its port (an IPv6 literal without its brackets). */
function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(1, host.indexOf(']'));
  const colon = host.lastIndexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}
