import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configParts } from '../../../src/config/config-tree.js';
import { inspectConfigFile, inspectConfigText } from '../../../src/config/load.js';
import { routeWarnings, routingHostKey, unreachablePrefix } from '../../../src/config/route-reach.js';
import { normalizeHost } from '../../../src/dataplane/router.js';
import { localAddressSet } from '../../../src/domain/self-address.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const host = { localAddresses: localAddressSet(['127.0.0.1']) };

type Svc = { name: string; hosts?: string[]; pathPrefix?: string };
const warn = (services: Svc[]) =>
  routeWarnings(
    configParts({
      services: services.map((s) => ({
        name: s.name,
        match: { hosts: s.hosts ?? ['*'], pathPrefix: s.pathPrefix ?? '/' },
      })),
    }).services,
  );

describe('routingHostKey', () => {
  it.each([
    'example.com',
    'Example.COM.',
    'a.com:8080',
    '*.Example.com.',
    '*',
    '[::1]',
    '[::1]:8080',
    '[FE80::1]:1',
    'localhost.:80',
  ])('agrees with the router for %s', (h) => {
    expect(routingHostKey(h)).toBe(normalizeHost(h));
  });
});

describe('unreachablePrefix', () => {
  it.each(['/', '/api', '/api/', '/.well-known', '/a..b', '/%2F', '/%25', '/v1.2', '/~user'])('%s can match', (p) => {
    expect(unreachablePrefix(p)).toBeNull();
  });

  it.each([
    ['/api?x=1', /query/],
    ['/api#top', /fragment/],
    ['/a/./b', /"\." or "\.\." segment/],
    ['/a/..', /"\." or "\.\." segment/],
    ['/.', /segment/],
    ['/%41pi', /"%41" arrives as "A"/],
    ['/x%7e', /"%7e" arrives as "~"/],
    ['/a b', /spaces/],
    ['/a\\b', /backslash/],
    ['/a%zz', /"%" not followed by two hex digits/],
    ['/a/..;/b', /segment/],
    ['/a%2f..', /segment/],
    ['/a/.%2Fb', /segment/],
  ])('%s never matches', (p, why) => {
    expect(unreachablePrefix(p)).toMatch(why);
  });
});

describe('routeWarnings', () => {
  it('says nothing about routes that can all win', () => {
    expect(
      warn([
        { name: 'a' },
        { name: 'b', pathPrefix: '/api' },
        { name: 'c', hosts: ['x.com'] },
        { name: 'd', hosts: ['*.x.com'] },
        { name: 'e', pathPrefix: '/api/' },
      ]),
    ).toEqual([]);
  });

  it('warns about a service whose every host is taken first, naming both services', () => {
    const w = warn([
      { name: 'a', hosts: ['example.com', 'b.test'] },
      { name: 'b', hosts: ['Example.com.', 'b.test:8080'] },
    ]);
    expect(w).toEqual([
      {
        path: 'services[1].match',
        message: expect.stringContaining(
          'never receives a request: "a" (services[0]) comes first with the same hosts and path prefix "/"',
        ),
      },
    ]);
  });

  it('names every earlier service that shadows a whole service', () => {
    const w = warn([
      { name: 'a', hosts: ['a.com'] },
      { name: 'b', hosts: ['b.com'] },
      { name: 'c', hosts: ['A.com:1', 'B.com.'] },
    ]);
    expect(w).toHaveLength(1);
    expect(w[0]?.message).toContain('"a" (services[0]), "b" (services[1])');
  });

  it('warns about a single host another service takes (partial shadow)', () => {
    const w = warn([
      { name: 'a', hosts: ['a.com'] },
      { name: 'b', hosts: ['b.com', 'a.com:9090'] },
    ]);
    expect(w).toEqual([
      {
        path: 'services[1].match.hosts[1]',
        message: expect.stringContaining('"a.com:9090" is the host "a.com" of "a" (services[0])'),
      },
    ]);
  });

  it('a wildcard with the same suffix, and "*", compare like any host', () => {
    expect(
      warn([
        { name: 'a', hosts: ['*.a.com'] },
        { name: 'b', hosts: ['*.A.COM.'] },
      ]),
    ).toHaveLength(1);
    expect(
      warn([
        { name: 'a', hosts: ['*'] },
        { name: 'b', hosts: ['*'], pathPrefix: '/x' },
      ]),
    ).toEqual([]);
  });

  it('leaves identical spellings to the config error, and ignores a host repeated within one service', () => {
    expect(
      warn([
        { name: 'a', hosts: ['a.com'] },
        { name: 'b', hosts: ['A.com'] },
      ]),
    ).toEqual([]);
    expect(warn([{ name: 'a', hosts: ['a.com', 'A.com.'] }])).toEqual([]);
  });

  it('warns about a prefix that can never match, once, without calling the service shadowed', () => {
    expect(
      warn([
        { name: 'a', pathPrefix: '/x/../y' },
        { name: 'b', pathPrefix: '/x/../y' },
      ]),
    ).toEqual([
      { path: 'services[0].match.pathPrefix', message: expect.stringContaining('can never match') },
      { path: 'services[1].match.pathPrefix', message: expect.stringContaining('can never match') },
    ]);
  });
});

describe('through the loader', () => {
  it('the shadowed fixture is valid and warns about each dead route', async () => {
    const r = await inspectConfigFile(join(root, 'test/fixtures/config/shadowed.yaml'), {}, host);
    expect(r.result.ok).toBe(true);
    expect(r.warnings.map((w) => w.path)).toEqual([
      'services[1].match',
      'services[2].match.hosts[0]',
      'services[3].match.pathPrefix',
    ]);
    expect(r.warnings[0]?.message).toContain('"web" (services[0])');
  });

  it('warnings come out with problems too', () => {
    const r = inspectConfigText(
      'listen: nope\nservices:\n' +
        '  - name: a\n    match: { hosts: [a.com] }\n' +
        '  - name: b\n    match: { hosts: ["a.com:80"] }\n',
      {},
      undefined,
      host,
    );
    expect(r.result.ok).toBe(false);
    expect(r.warnings).toEqual([
      { path: 'services[1].match', message: expect.stringContaining('never receives a request') },
    ]);
  });
});
