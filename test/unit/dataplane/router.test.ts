import { describe, expect, it } from 'vitest';
import {
  compileRouter,
  normalizeHost,
  prefixMatches,
  splitAbsoluteForm,
  type RouteSpec,
} from '../../../src/dataplane/router.js';

function router(routes: [string[], string, string][]) {
  const specs: RouteSpec<string>[] = routes.map(([hosts, pathPrefix, value]) => ({ hosts, pathPrefix, value }));
  return compileRouter(specs);
}

describe('compileRouter: hosts', () => {
  it('matches an exact host and nothing else when there is no catch-all', () => {
    const r = router([[['example.com'], '/', 'ex']]);
    expect(r.lookup('example.com', '/')).toBe('ex');
    expect(r.lookup('other.com', '/')).toBeUndefined();
    expect(r.lookup('sub.example.com', '/')).toBeUndefined();
    expect(r.lookup(undefined, '/')).toBeUndefined();
  });

  it('registers every host of a route', () => {
    const r = router([[['a.test', 'b.test'], '/', 'ab']]);
    expect(r.lookup('a.test', '/x')).toBe('ab');
    expect(r.lookup('b.test', '/x')).toBe('ab');
    expect(r.lookup('c.test', '/x')).toBeUndefined();
  });

  it('prefers the most specific wildcard', () => {
    const r = router([
      [['*.example.com'], '/', 'wide'],
      [['*.b.example.com'], '/', 'narrow'],
    ]);
    expect(r.lookup('x.b.example.com', '/')).toBe('narrow');
    expect(r.lookup('y.x.b.example.com', '/')).toBe('narrow');
    expect(r.lookup('x.c.example.com', '/')).toBe('wide');
    expect(r.lookup('b.example.com', '/')).toBe('wide');
  });

  it('does not let a wildcard match its apex or an unrelated suffix', () => {
    const r = router([[['*.example.com'], '/', 'wild']]);
    expect(r.lookup('example.com', '/')).toBeUndefined();
    expect(r.lookup('badexample.com', '/')).toBeUndefined();
    expect(r.lookup('a.example.com.evil.test', '/')).toBeUndefined();
  });

  it('prefers an exact host over a wildcard and a wildcard over "*"', () => {
    const r = router([
      [['*'], '/', 'any'],
      [['*.example.com'], '/', 'wild'],
      [['app.example.com'], '/', 'exact'],
    ]);
    expect(r.lookup('app.example.com', '/')).toBe('exact');
    expect(r.lookup('web.example.com', '/')).toBe('wild');
    expect(r.lookup('other.test', '/')).toBe('any');
  });

  it('"*" catches any host, including a missing Host header', () => {
    const r = router([[['*'], '/', 'any']]);
    expect(r.lookup('whatever.test', '/x')).toBe('any');
    expect(r.lookup(undefined, '/x')).toBe('any');
    expect(r.lookup('', '/x')).toBe('any');
    expect(r.lookup('[::1]:8080', '/x')).toBe('any');
  });
});

describe('compileRouter: host normalisation', () => {
  it('ignores the port', () => {
    const r = router([[['example.com'], '/', 'ex']]);
    expect(r.lookup('example.com:8080', '/')).toBe('ex');
    expect(r.lookup('example.com:443', '/')).toBe('ex');
  });

  it('ignores case on both the route and the request', () => {
    const r = router([[['Example.COM'], '/', 'ex']]);
    expect(r.lookup('EXAMPLE.com', '/')).toBe('ex');
    expect(r.lookup('example.com', '/')).toBe('ex');
  });

  it('ignores a trailing dot (fully qualified names), with or without port', () => {
    const r = router([[['example.com.'], '/', 'ex']]);
    expect(r.lookup('example.com', '/')).toBe('ex');
    expect(r.lookup('example.com.', '/')).toBe('ex');
    expect(r.lookup('Example.Com.:8443', '/')).toBe('ex');
  });

  it('matches a wildcard after normalising port, dot and case', () => {
    const r = router([[['*.Example.com'], '/', 'wild']]);
    expect(r.lookup('A.EXAMPLE.COM.:80', '/')).toBe('wild');
  });

  it('handles IPv6 literals: the port is stripped but the address is not cut at its colons', () => {
    const r = router([
      [['[::1]'], '/', 'v6'],
      [['*'], '/', 'any'],
    ]);
    expect(r.lookup('[::1]:8080', '/')).toBe('v6');
    expect(r.lookup('[::1]', '/')).toBe('v6');
    expect(r.lookup('[::2]:8080', '/')).toBe('any');
    expect(normalizeHost('[FE80::1]:443')).toBe('[fe80::1]');
    expect(normalizeHost('[::1]')).toBe('[::1]');
  });

  it('normalizeHost lower-cases, strips port and one trailing dot', () => {
    expect(normalizeHost('WWW.Example.COM.:8080')).toBe('www.example.com');
    expect(normalizeHost('localhost:3000')).toBe('localhost');
    expect(normalizeHost('localhost')).toBe('localhost');
  });
});

describe('compileRouter: paths', () => {
  const r = router([
    [['example.com'], '/', 'root'],
    [['example.com'], '/api', 'api'],
    [['example.com'], '/api/v2', 'v2'],
  ]);

  it('picks the longest matching prefix regardless of declaration order', () => {
    expect(r.lookup('example.com', '/api/v2/users')).toBe('v2');
    expect(r.lookup('example.com', '/api/v1/users')).toBe('api');
    expect(r.lookup('example.com', '/web')).toBe('root');
    const reversed = router([
      [['example.com'], '/api/v2', 'v2'],
      [['example.com'], '/', 'root'],
      [['example.com'], '/api', 'api'],
    ]);
    expect(reversed.lookup('example.com', '/api/v2/users')).toBe('v2');
    expect(reversed.lookup('example.com', '/api/x')).toBe('api');
  });

  it('matches prefixes on segment boundaries only', () => {
    expect(r.lookup('example.com', '/api')).toBe('api');
    expect(r.lookup('example.com', '/api/')).toBe('api');
    expect(r.lookup('example.com', '/apix')).toBe('root');
    expect(r.lookup('example.com', '/api/v20')).toBe('api');
    expect(r.lookup('example.com', '/api/v2')).toBe('v2');
  });

  it('ignores the query string', () => {
    expect(r.lookup('example.com', '/api?x=1')).toBe('api');
    expect(r.lookup('example.com', '/apix?y=/api')).toBe('root');
    expect(r.lookup('example.com', '/?next=/api/v2')).toBe('root');
    expect(r.lookup('example.com', '/api/v2?')).toBe('v2');
  });

  it('returns undefined when no prefix matches anywhere', () => {
    const only = router([[['*'], '/api', 'api']]);
    expect(only.lookup('example.com', '/web')).toBeUndefined();
    expect(only.lookup('example.com', '/ap')).toBeUndefined();
  });

  it('prefixMatches: a prefix ending in "/" matches anything under it', () => {
    expect(prefixMatches('/', '/anything')).toBe(true);
    expect(prefixMatches('/static/', '/static/a.css')).toBe(true);
    expect(prefixMatches('/static', '/static')).toBe(true);
    expect(prefixMatches('/static', '/statics')).toBe(false);
    expect(prefixMatches('/static', '/stat')).toBe(false);
  });
});

describe('compileRouter: fall-through', () => {
  it('falls from an exact host without a matching prefix to the wildcard, then to "*"', () => {
    const r = router([
      [['app.example.com'], '/admin', 'exact-admin'],
      [['*.example.com'], '/api', 'wild-api'],
      [['*'], '/', 'any'],
    ]);
    expect(r.lookup('app.example.com', '/admin/users')).toBe('exact-admin');
    expect(r.lookup('app.example.com', '/api/x')).toBe('wild-api');
    expect(r.lookup('app.example.com', '/other')).toBe('any');
  });

  it('falls from an exact host straight to "*" when no wildcard exists', () => {
    const r = router([
      [['app.test'], '/admin', 'admin'],
      [['*'], '/', 'any'],
    ]);
    expect(r.lookup('app.test', '/admin')).toBe('admin');
    expect(r.lookup('app.test', '/other')).toBe('any');
  });

  it('falls from a more specific wildcard to a less specific one', () => {
    const r = router([
      [['*.b.example.com'], '/api', 'narrow-api'],
      [['*.example.com'], '/', 'wide'],
    ]);
    expect(r.lookup('x.b.example.com', '/api')).toBe('narrow-api');
    expect(r.lookup('x.b.example.com', '/web')).toBe('wide');
  });

  // A request in absolute-form ("GET http://host/path HTTP/1.1", RFC 9112 §3.2.2) reaches Node with
  // req.url = "http://example.com/api/x?q=1"; ingress splits it before the lookup.
  it('splits an absolute-form request target into authority and origin-form path', () => {
    const r = router([
      [['*'], '/', 'root'],
      [['*'], '/api', 'api'],
    ]);
    const a = splitAbsoluteForm('http://example.com/api/x?q=1');
    expect(a).toEqual({ authority: 'example.com', path: '/api/x?q=1' });
    expect(r.lookup(a?.authority, a?.path ?? '')).toBe('api');
    expect(splitAbsoluteForm('http://example.com:8080?x=1')).toEqual({ authority: 'example.com:8080', path: '/?x=1' });
    expect(splitAbsoluteForm('/plain')).toBeNull();
    expect(r.lookup('example.com', splitAbsoluteForm('https://example.com/web')?.path ?? '')).toBe('root');
  });
});
