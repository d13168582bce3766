// Upstream addresses: one spelling per address (so the check that a canary is not veer itself cannot be
// passed by another spelling of 127.0.0.1), hosts that are names or IP literals, and clear refusals.
import { describe, expect, it } from 'vitest';
import { parseTarget, readStoredTarget, targetKey } from '../../../src/domain/target.js';

const id = (s: string): string | null => {
  const r = parseTarget(s);
  return r.ok ? r.target.id : null;
};
const why = (s: string): string => {
  const r = parseTarget(s);
  if (r.ok) throw new Error(`${s} was taken as ${r.target.id}`);
  return r.message;
};

describe('parseTarget', () => {
  it('takes names, dotted-quad IPv4 and bracketed IPv6, with the port', () => {
    expect(id('127.0.0.1:9001')).toBe('127.0.0.1:9001');
    expect(id(' web-1.internal:80 ')).toBe('web-1.internal:80');
    expect(id('localhost.:8080')).toBe('localhost.:8080');
    expect(id('[::1]:9001')).toBe('[::1]:9001');
    expect(id('[fe80::1%eth0]:80')).toBe('[fe80::1%eth0]:80');
    expect(id('[::ffff:10.0.0.1]:80')).toBe('[::ffff:10.0.0.1]:80');
    expect(id('a1.example.com:443')).toBe('a1.example.com:443');
    expect(id('backend_1:80')).toBe('backend_1:80'); // Docker's DNS resolves container names like it
    expect(id(`${'a'.repeat(63)}.example:1`)).toBe(`${'a'.repeat(63)}.example:1`);
  });

  it('refuses the other spellings of an IPv4 address, which connect to it all the same', () => {
    for (const s of [
      '127.1:9090',
      '2130706433:9090',
      '0x7f000001:9090',
      '0177.0.0.1:9090',
      '127.0.0.01:1',
      '1.2.3.4.:1',
    ])
      expect(why(s)).toBe(`an IPv4 address is written as four decimal numbers 0–255 (a.b.c.d), got "${s}"`);
    expect(why('999.999.999.999:1')).toMatch(/^an IPv4 address is written as four decimal numbers/);
    expect(why('example.0x10:1')).toMatch(/^an IPv4 address is written as four decimal numbers/);
  });

  it('refuses what is neither a name nor an IP literal', () => {
    for (const s of ['-:1', '...:1', 'a..b:1', '-web:1', 'web-:1', `${'a'.repeat(64)}:1`, 'é.example:1'])
      expect(why(s)).toBe(
        `expected a host name (letters, digits, hyphens and underscores between dots) or an IP address, got "${s}"`,
      );
    for (const s of ['[:]:1', '[.]:1', '[1.2.3.4]:1', '[]:1', '[web]:1'])
      expect(why(s)).toBe(`expected an IPv6 address between [ ], got "${s}"`);
    expect(why(':1')).toBe('the host is empty, got ":1"');
  });

  it('refuses the unspecified addresses: they mean every local address, not one to connect to', () => {
    expect(why('0.0.0.0:8080')).toBe('0.0.0.0 means every local address, not one to connect to, got "0.0.0.0:8080"');
    expect(why('[::]:8080')).toBe('[::] means every local address, not one to connect to, got "[::]:8080"');
    expect(why('[0:0::0]:8080')).toMatch(/^\[0:0::0\] means every local address/);
    expect(why('[::%lo]:8080')).toMatch(/^\[::%lo\] means every local address/);
  });

  it('refuses a missing or out-of-range port and a non-string', () => {
    expect(why('web')).toBe('expected "host:port", got "web"');
    expect(why('::1:80')).toBe('expected "host:port", got "::1:80"');
    expect(why('http://web:80')).toBe('expected "host:port", got "http://web:80"');
    expect(why('web:0')).toBe('port must be 1–65535, got 0');
    expect(why('web:70000')).toBe('port must be 1–65535, got 70000');
    expect(why(42 as unknown as string)).toBe('expected a "host:port" string');
  });
});

describe('readStoredTarget', () => {
  it('takes back what an older veer stored, which new input would be refused for', () => {
    for (const id of [
      '0.0.0.0:3001',
      '[::]:3001',
      '127.1:3001',
      'my-svc-:80',
      'a..b:80',
      'node.123:80',
      '[fe80::1%eth0]:80',
    ])
      expect(readStoredTarget(id)?.id).toBe(id);
    expect(readStoredTarget('web:0')).toBeNull();
    expect(readStoredTarget('no port')).toBeNull();
  });
});

describe('targetKey', () => {
  it('is one key per address however it is spelled', () => {
    expect(targetKey('LOCALHOST:3000')).toBe(targetKey('localhost:3000'));
    expect(targetKey('[0::1]:80')).toBe(targetKey('[::1]:80'));
    expect(targetKey('[::ffff:127.0.0.1]:80')).toBe(targetKey('127.0.0.1:80'));
    expect(targetKey('web:80')).not.toBe(targetKey('web:81'));
  });
});
