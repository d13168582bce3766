// The DNS-rebinding guard of a tokenless admin API. A web page on attacker.example can make a
// browser resolve its own name to 127.0.0.1 and then talk to veer's loopback admin listener, but
// the browser still sends `Host: attacker.example`; it cannot send a bearer token it does not know.
// So without a token only loopback Host values are served.
import { isIP } from 'node:net';
import { isLocalhostName, isLoopbackIp } from '../domain/loopback.js';

// A bracketed IPv6 literal or a name / IPv4 literal, then an optional port: nothing else is a Host.
const HOST_HEADER = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::\d{1,5})?$/;

/**
 * `localhost`, any `*.localhost` name, 127.0.0.0/8 in dotted-quad form and `[::1]` (any spelling),
 * each with an optional port. Short or numeric IPv4 forms ("127.1") are refused: browsers never send
 * them, and accepting fewer spellings leaves less to get wrong.
 */
export function isLoopbackHostHeader(value: string): boolean {
  const m = HOST_HEADER.exec(value.trim());
  if (!m) return false;
  if (m[1] !== undefined) return isIP(m[1]) === 6 && isLoopbackIp(m[1]);
  const host = m[2] as string;
  if (isIP(host) === 4) return isLoopbackIp(host);
  // A dotted-digit name that is not an IPv4 literal ("127.0.0.1.", "127.1") is a name, not loopback.
  return !/^[0-9.]+$/.test(host) && isLocalhostName(host);
}
