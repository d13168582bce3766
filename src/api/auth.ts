// Bearer-token auth for the admin API. The refusal to run a tokenless admin API beyond loopback is a
// config check (it runs before anything listens) and is re-exported here for the code that wires it.
import { createHash, timingSafeEqual } from 'node:crypto';

export { checkAdminExposure, isLoopbackHost } from '../config/admin-exposure.js';

const digest = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * Hashing first makes both buffers 32 bytes, so neither the comparison time nor a length check
 * leaks the token's length.
 */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  if (authorization === undefined) return false;
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  if (!m) return false;
  return tokenMatches(m[1] as string, token);
}

/** The same comparison for a token given some other way (the dashboard's login form). */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}
