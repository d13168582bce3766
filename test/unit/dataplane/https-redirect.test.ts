import { describe, expect, it } from 'vitest';
import { httpsLocation } from '../../../src/dataplane/https-redirect.js';
import { ResetGuard } from '../../../src/dataplane/reset-guard.js';

const covered = new Set(['a.test', '::1']);
const policy = (port: number) => ({ covers: (h: string) => covered.has(h), port });

describe('httpsLocation', () => {
  it('keeps path and query, drops the plain port, and names the TLS port unless it is 443', () => {
    expect(httpsLocation(policy(443), 'a.test:8080', '/p?q=1&r')).toBe('https://a.test/p?q=1&r');
    expect(httpsLocation(policy(8443), 'a.test', '/')).toBe('https://a.test:8443/');
    expect(httpsLocation(policy(8443), '[::1]:80', '/x')).toBe('https://[::1]:8443/x');
  });

  it('leaves ACME HTTP-01 challenges, hosts without a certificate and requests without a host alone', () => {
    expect(httpsLocation(policy(443), 'a.test', '/.well-known/acme-challenge/token')).toBeNull();
    expect(httpsLocation(policy(443), 'other.test', '/')).toBeNull();
    expect(httpsLocation(policy(443), undefined, '/')).toBeNull();
  });
});

describe('ResetGuard', () => {
  it('allows a burst, then refills at the rate', () => {
    const g = new ResetGuard(3, 2, 0);
    expect([g.allow(0), g.allow(0), g.allow(0), g.allow(0)]).toEqual([true, true, true, false]);
    expect(g.allow(499)).toBe(false);
    expect(g.allow(500)).toBe(true);
    expect(g.allow(10_000)).toBe(true);
  });
});
