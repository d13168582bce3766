import { describe, expect, it } from 'vitest';
import {
  isValidHost,
  normalizePath,
  parseRequestTarget,
  removeDotSegments,
} from '../../../src/dataplane/request-target.js';

/**
 * RFC 3986 §5.2.4 written out as the RFC states it (an input and an output buffer), to check the
 * implementation against on every path an alphabet of awkward segments can build.
 */
function rfcRemoveDotSegments(path: string): string {
  let input = path;
  let output = '';
  while (input.length > 0) {
    if (input.startsWith('../')) input = input.slice(3);
    else if (input.startsWith('./')) input = input.slice(2);
    else if (input.startsWith('/./')) input = input.slice(2);
    else if (input === '/.') input = '/';
    else if (input.startsWith('/../') || input === '/..') {
      input = input === '/..' ? '/' : input.slice(3);
      const cut = output.lastIndexOf('/');
      output = cut === -1 ? '' : output.slice(0, cut);
    } else if (input === '.' || input === '..') input = '';
    else {
      const next = input.indexOf('/', input.startsWith('/') ? 1 : 0);
      const segment = next === -1 ? input : input.slice(0, next);
      output += segment;
      input = input.slice(segment.length);
    }
  }
  return output;
}

describe('removeDotSegments (RFC 3986 §5.2.4)', () => {
  it("the RFC's own examples", () => {
    expect(removeDotSegments('/a/b/c/./../../g')).toBe('/a/g');
    // "mid/content=5/../6" → "mid/6", on the absolute path the data plane always has.
    expect(removeDotSegments('/mid/content=5/../6')).toBe('/mid/6');
  });

  it('the §5.4 reference-resolution examples, on the merged path of base "/b/c/d;p"', () => {
    // [reference, merged path (base directory "/b/c/" + reference, or the reference when absolute), result]
    const cases: Array<[string, string, string]> = [
      ['g', '/b/c/g', '/b/c/g'],
      ['./g', '/b/c/./g', '/b/c/g'],
      ['g/', '/b/c/g/', '/b/c/g/'],
      ['/g', '/g', '/g'],
      ['.', '/b/c/.', '/b/c/'],
      ['./', '/b/c/./', '/b/c/'],
      ['..', '/b/c/..', '/b/'],
      ['../', '/b/c/../', '/b/'],
      ['../g', '/b/c/../g', '/b/g'],
      ['../..', '/b/c/../..', '/'],
      ['../../', '/b/c/../../', '/'],
      ['../../g', '/b/c/../../g', '/g'],
      // Abnormal examples (§5.4.2): never above the root, and look-alikes are not dot-segments.
      ['../../../g', '/b/c/../../../g', '/g'],
      ['../../../../g', '/b/c/../../../../g', '/g'],
      ['/./g', '/./g', '/g'],
      ['/../g', '/../g', '/g'],
      ['g.', '/b/c/g.', '/b/c/g.'],
      ['.g', '/b/c/.g', '/b/c/.g'],
      ['g..', '/b/c/g..', '/b/c/g..'],
      ['..g', '/b/c/..g', '/b/c/..g'],
      ['./../g', '/b/c/./../g', '/b/g'],
      ['./g/.', '/b/c/./g/.', '/b/c/g/'],
      ['g/./h', '/b/c/g/./h', '/b/c/g/h'],
      ['g/../h', '/b/c/g/../h', '/b/c/h'],
      ['g;x=1/./y', '/b/c/g;x=1/./y', '/b/c/g;x=1/y'],
      ['g;x=1/../y', '/b/c/g;x=1/../y', '/b/c/y'],
    ];
    for (const [ref, merged, result] of cases) expect(removeDotSegments(merged), ref).toBe(result);
  });

  it('keeps empty segments and trailing slashes', () => {
    expect(removeDotSegments('/')).toBe('/');
    expect(removeDotSegments('/a//b/')).toBe('/a//b/');
    expect(removeDotSegments('/a//../b')).toBe('/a/b');
    expect(removeDotSegments('//../x')).toBe('/x');
    expect(removeDotSegments('/a/b/..')).toBe('/a/');
    expect(removeDotSegments('/..')).toBe('/');
    expect(removeDotSegments('/.')).toBe('/');
    expect(removeDotSegments('/...')).toBe('/...');
  });

  it("agrees with the RFC's buffer algorithm on every path of up to five awkward segments", () => {
    const alphabet = ['a', '.', '..', '', '...', '.a', 'a.', '..a'];
    let paths = [''];
    let checked = 0;
    for (let depth = 1; depth <= 5; depth++) {
      paths = paths.flatMap((p) => alphabet.map((s) => `${p}/${s}`));
      for (const p of paths) {
        expect(removeDotSegments(p), p).toBe(rfcRemoveDotSegments(p));
        checked++;
      }
    }
    expect(checked).toBe(8 + 64 + 512 + 4096 + 32768);
  });
});

describe('normalizePath', () => {
  it('returns a path with nothing to do as it is', () => {
    for (const p of ['/', '/a/b', '/a.b/c..d/e.', '/a//b', '/a?x=/../y', '/a;b=c/d', '/~user', '/a-b_c', '/a?%zz\\']) {
      expect(normalizePath(p), p).toBe(p);
    }
  });

  it('refuses a fragment anywhere in the target, the query included', () => {
    for (const p of ['/a#b', '/a?x#y', '/a?#']) expect(normalizePath(p), p).toBeNull();
  });

  it('removes dot-segments, plain or percent-encoded in either case', () => {
    const cases: Array<[string, string]> = [
      ['/public/../internal/secret', '/internal/secret'],
      ['/public/%2e%2e/internal/secret', '/internal/secret'],
      ['/public/%2E%2E/internal/secret', '/internal/secret'],
      ['/public/.%2e/internal', '/internal'],
      ['/public/%2e./internal', '/internal'],
      ['/public/./../internal', '/internal'],
      ['/public/%2e/x', '/public/x'],
      ['/public/x/%2e%2e', '/public/'],
      ['/%2e%2e/%2e%2e/etc', '/etc'],
    ];
    for (const [from, to] of cases) expect(normalizePath(from), from).toBe(to);
  });

  it('decodes percent-encoded unreserved characters and nothing else', () => {
    expect(normalizePath('/%70ublic/x')).toBe('/public/x');
    expect(normalizePath('/%41%5a%61%7a%30%39%2D%2E%5F%7E')).toBe('/AZaz09-._~');
    expect(normalizePath('/a%2Fb')).toBe('/a%2Fb');
    expect(normalizePath('/a%20b')).toBe('/a%20b');
    expect(normalizePath('/a%3Bb')).toBe('/a%3Bb');
    expect(normalizePath('/a%25b')).toBe('/a%25b');
    // Decoded once: "%252e" is the text "%2e".
    expect(normalizePath('/a/%252e%252e/b')).toBe('/a/%252e%252e/b');
    // Characters produced by decoding are never decoded again.
    expect(normalizePath('/%252e%2e')).toBe('/%252e.');
  });

  it('leaves the query string alone, whatever it holds', () => {
    expect(normalizePath('/a/../b?c=/../d&e=%2e%2e&f=\\')).toBe('/b?c=/../d&e=%2e%2e&f=\\');
    expect(normalizePath('/%70?%70')).toBe('/p?%70');
    expect(normalizePath('/a/..?')).toBe('/?');
  });

  it('refuses ambiguous shapes: hidden dot-segments, dot parameters, backslashes, fragments, bad escapes', () => {
    for (const p of [
      '/a/..%2fb',
      '/a/..%2Fb',
      '/a/%2e%2e%2fb',
      '/a%2f..%2fb',
      '/a/..%5cb',
      '/a/.%5Cb',
      '/a/..;/b',
      '/a/..;x=1/b',
      '/a/.;/b',
      '/a/%2e%2e;/b',
      '/a\\..\\b',
      '/a\\b',
      '/a/b#c',
      '/a/%',
      '/a/%2',
      '/a/%zz',
      '/a/%g0',
      '/a/%0g',
      '/a/%u002e',
    ]) {
      expect(normalizePath(p), p).toBeNull();
    }
  });

  it('accepts encoded separators and path parameters away from dot-segments', () => {
    expect(normalizePath('/a%2fb/c')).toBe('/a%2fb/c');
    expect(normalizePath('/a;x=1/./b')).toBe('/a;x=1/b');
    expect(normalizePath('/a/..x%2fb')).toBe('/a/..x%2fb');
    expect(normalizePath('/a/;/../b')).toBe('/a/b');
  });
});

describe('parseRequestTarget', () => {
  it('origin form: no authority, the normalized path', () => {
    expect(parseRequestTarget('/')).toEqual({ authority: undefined, path: '/' });
    expect(parseRequestTarget('/a/b?c')).toEqual({ authority: undefined, path: '/a/b?c' });
    expect(parseRequestTarget('/a/%2e%2e/b')).toEqual({ authority: undefined, path: '/b' });
    expect(parseRequestTarget('/a/..%2fb')).toBe('bad_path');
  });

  it('absolute form: http/https in any case, the authority apart, "/" for an empty path', () => {
    expect(parseRequestTarget('http://shop.example/cart?id=1')).toEqual({
      authority: 'shop.example',
      path: '/cart?id=1',
    });
    expect(parseRequestTarget('https://shop.example:8443')).toEqual({ authority: 'shop.example:8443', path: '/' });
    expect(parseRequestTarget('HTTP://Shop.Example/x')).toEqual({ authority: 'Shop.Example', path: '/x' });
    expect(parseRequestTarget('HtTpS://a/')).toEqual({ authority: 'a', path: '/' });
    expect(parseRequestTarget('http://shop.example?q=1')).toEqual({ authority: 'shop.example', path: '/?q=1' });
    expect(parseRequestTarget('http://[::1]:8080/x')).toEqual({ authority: '[::1]:8080', path: '/x' });
    expect(parseRequestTarget('http://127.0.0.1/a/../b')).toEqual({ authority: '127.0.0.1', path: '/b' });
  });

  it('absolute form: userinfo, an empty or malformed authority are bad_host', () => {
    for (const url of [
      'http://user@shop.example/',
      'http://user:pw@shop.example/',
      'http://a@b@c/',
      'http:///x',
      'http://',
      'http://:80/',
      'http://a b/',
      'http://[::1/',
      'http://a:99999999/',
      'http://a:b/',
      'http://a\\@b/',
    ]) {
      expect(parseRequestTarget(url), url).toBe('bad_host');
    }
  });

  it('absolute form: a fragment or an ambiguous path is bad_path', () => {
    for (const url of ['http://a#f', 'http://a/#f', 'http://a/x/..%2fy', 'http://a/..;/x', 'http://a/%zz']) {
      expect(parseRequestTarget(url), url).toBe('bad_path');
    }
  });

  it('other schemes, "*", authority form and garbage are bad_path', () => {
    for (const url of [
      '*',
      'shop.example:443',
      'ftp://shop.example/',
      'ws://a/',
      'wss://a/',
      'file:///etc/passwd',
      'httpx://a/',
      'xhttp://a/',
      '://a/',
      'http:/a/',
      'a/b',
      '',
      '?x',
      'javascript:alert(1)',
    ]) {
      expect(parseRequestTarget(url), JSON.stringify(url)).toBe('bad_path');
    }
  });
});

describe('isValidHost', () => {
  it('accepts reg-names, IPv4 and bracketed IPv6, each with an optional port', () => {
    for (const h of [
      'example.com',
      'EXAMPLE.com',
      'a',
      'a-b.c_d~e',
      'xn--bcher-kva.example',
      'shop.example.',
      'shop.example:8080',
      'shop.example:',
      '127.0.0.1',
      '127.0.0.1:65535',
      '[::1]',
      '[::1]:8080',
      '[2001:db8::1]',
      '[::ffff:192.0.2.1]:80',
      "a!$&'()*+,;=b",
      'a%41b',
    ]) {
      expect(isValidHost(h), h).toBe(true);
    }
  });

  it('accepts an empty Host (RFC 9112 §3.2)', () => {
    expect(isValidHost('')).toBe(true);
  });

  it('refuses userinfo, spaces, delimiters, stray brackets, non-ASCII and bad ports', () => {
    for (const h of [
      'user@host',
      'a@b',
      ':80',
      ':',
      'a b',
      ' a',
      'a/b',
      'a\\b',
      'a?b',
      'a#b',
      'a]',
      'a[',
      '[',
      '[]',
      '[:]',
      '[::1',
      '[::1]x',
      '[::1]:80:80',
      '[zz::1]',
      '[v1.fe80]',
      'a:b',
      'a:b:c',
      'a:80:80',
      'a:-1',
      'a:123456',
      'a:8o',
      'h\u00e9',
      'a\u0000b',
      'a\tb',
      'a"b',
      'a<b',
    ]) {
      expect(isValidHost(h), JSON.stringify(h)).toBe(false);
    }
  });
});
