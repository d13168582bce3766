import { describe, expect, it } from 'vitest';
import { peerAddress, trustedProxyMatcher } from '../../../src/dataplane/headers.js';

describe('peerAddress', () => {
  it('removes the IPv4-mapped prefix and keeps everything else', () => {
    expect(peerAddress('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(peerAddress('127.0.0.1')).toBe('127.0.0.1');
    expect(peerAddress('::1')).toBe('::1');
    expect(peerAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(peerAddress(undefined)).toBe('unknown');
  });
});

describe('trustedProxyMatcher', () => {
  it('trusts nobody when empty', () => {
    const m = trustedProxyMatcher([]);
    expect(m('127.0.0.1')).toBe(false);
    expect(m('::1')).toBe(false);
  });

  it('matches plain IPv4 and IPv6 addresses exactly', () => {
    const m = trustedProxyMatcher(['10.0.0.5', '::1']);
    expect(m('10.0.0.5')).toBe(true);
    expect(m('10.0.0.6')).toBe(false);
    expect(m('::1')).toBe(true);
    expect(m('::2')).toBe(false);
  });

  it('matches IPv4 and IPv6 CIDRs', () => {
    const m = trustedProxyMatcher(['192.168.0.0/16', '172.16.0.0/12', 'fd00::/8', '2001:db8::/32']);
    expect(m('192.168.44.1')).toBe(true);
    expect(m('192.169.0.1')).toBe(false);
    expect(m('172.31.255.255')).toBe(true);
    expect(m('172.32.0.0')).toBe(false);
    expect(m('fd12:3456::1')).toBe(true);
    expect(m('fe80::1')).toBe(false);
    expect(m('2001:db8:ffff::1')).toBe(true);
    expect(m('2001:db9::1')).toBe(false);
  });

  it('keeps families apart and answers false for a non-address', () => {
    const v4 = trustedProxyMatcher(['10.0.0.0/8']);
    expect(v4('fd00::1')).toBe(false);
    const v6 = trustedProxyMatcher(['fd00::/8']);
    expect(v6('10.0.0.1')).toBe(false);
    expect(v6('fd00::1')).toBe(true);
    // peerAddress answers "unknown" for a socket without an address: must not throw on the hot path.
    expect(v4('unknown')).toBe(false);
  });
});
