import { describe, expect, it } from 'vitest';
import { canonicalHost, isLoopbackIp, isUnspecifiedIp } from '../../../src/domain/loopback.js';
import { localAddressSet, selfTarget, type Listener } from '../../../src/domain/self-address.js';
import { parseTarget, type TargetAddress } from '../../../src/domain/target.js';

// parseTarget refuses the unspecified addresses; the check still knows them, should one come from elsewhere.
const t = (s: string): TargetAddress => {
  const r = parseTarget(s);
  if (r.ok) return r.target;
  const m = /^\[?(0\.0\.0\.0|::)\]?:(\d+)$/.exec(s);
  if (m === null) throw new Error(r.message);
  return { host: m[1] as string, port: Number(m[2]), id: s };
};
const LOCAL = localAddressSet(['127.0.0.1', '::1', '10.1.2.3', 'fe80::1%eth0', 'web-host']);
const data = (host: string, port = 8080): Listener => ({ role: 'data-plane', host, port });
const admin = (host: string, port = 9090): Listener => ({ role: 'admin', host, port });

describe('loopback helpers', () => {
  it('canonicalises IP spellings', () => {
    expect(canonicalHost('[0:0:0:0:0:0:0:1]')).toBe('::1');
    expect(canonicalHost('::FFFF:127.0.0.2')).toBe('127.0.0.2');
    expect(canonicalHost('Example.COM.')).toBe('example.com');
    // A zone names the interface, not the address.
    expect(canonicalHost('[FE80:0::1%eth0]')).toBe('fe80::1');
    expect(canonicalHost('::ffff:127.0.0.1%lo')).toBe('127.0.0.1');
  });

  it('knows loopback and unspecified addresses', () => {
    for (const h of ['127.0.0.1', '127.9.9.9', '::1', '[::1]', '::ffff:127.0.0.1']) expect(isLoopbackIp(h)).toBe(true);
    for (const h of ['128.0.0.1', '10.0.0.1', '::2', 'localhost', '127.example.com'])
      expect(isLoopbackIp(h)).toBe(false);
    for (const h of ['0.0.0.0', '::', '[::]', '']) expect(isUnspecifiedIp(h)).toBe(true);
  });
});

describe('selfTarget', () => {
  it('names the listener and says why', () => {
    expect(selfTarget(t('127.0.0.1:8080'), [data('127.0.0.1')], LOCAL)).toBe(
      "veer's own data-plane listener 127.0.0.1:8080: traffic would loop",
    );
    expect(selfTarget(t('127.0.0.1:9090'), [data('127.0.0.1'), admin('127.0.0.1')], LOCAL)).toBe(
      "veer's own admin listener 127.0.0.1:9090: the data plane would serve the admin API",
    );
  });

  it.each([
    '127.0.0.1:8080',
    '127.0.0.2:8080',
    'localhost:8080',
    'LOCALHOST:8080',
    '[::1]:8080',
    '0.0.0.0:8080',
    '[::]:8080',
    '10.1.2.3:8080',
    'web-host:8080',
    '[fe80::1]:8080',
    '[::ffff:127.0.0.1]:8080',
    '[::1%lo]:8080',
    '[::ffff:127.0.0.1%lo]:8080',
    '[fe80::1%eth0]:8080',
  ])('a wildcard listener is reached through %s', (target) => {
    expect(selfTarget(t(target), [data('0.0.0.0')], LOCAL)).not.toBeNull();
    expect(selfTarget(t(target), [data('::')], LOCAL)).not.toBeNull();
  });

  it('a 127.0.0.1 listener is reached through 127.x and localhost, not through ::1 or other hosts', () => {
    for (const s of ['127.0.0.1:8080', '127.3.2.1:8080', 'localhost:8080', 'app.localhost:8080', '0.0.0.0:8080'])
      expect(selfTarget(t(s), [data('127.0.0.1')], LOCAL)).not.toBeNull();
    for (const s of ['[::1]:8080', '10.1.2.3:8080', 'other:8080', '127.0.0.1:8081'])
      expect(selfTarget(t(s), [data('127.0.0.1')], LOCAL)).toBeNull();
  });

  it('a listener on a specific address is reached through that address only', () => {
    expect(selfTarget(t('10.1.2.3:8080'), [data('10.1.2.3')], LOCAL)).not.toBeNull();
    expect(selfTarget(t('127.0.0.1:8080'), [data('10.1.2.3')], LOCAL)).toBeNull();
  });

  it('a port not yet known (0) never matches, and other ports never do', () => {
    expect(selfTarget(t('127.0.0.1:1'), [data('0.0.0.0', 0)], LOCAL)).toBeNull();
    expect(selfTarget(t('127.0.0.1:8081'), [data('0.0.0.0')], LOCAL)).toBeNull();
    expect(selfTarget(t('192.0.2.7:8080'), [data('0.0.0.0')], LOCAL)).toBeNull();
  });

  it('brackets IPv6 listeners in the description', () => {
    expect(selfTarget(t('[::1]:8080'), [data('::1')], LOCAL)).toBe(
      "veer's own data-plane listener [::1]:8080: traffic would loop",
    );
  });
});
