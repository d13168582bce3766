// What is routed is what is forwarded. Every request here goes out as raw bytes, so the request
// line and header fields reach veer exactly as written, and the assertions read what the upstream
// received. The front door has path services `/public` and `/internal`, a `/` catch-all, and two
// host services, so a request that is routed one way and forwarded another shows up as a request
// at the wrong upstream. Refused requests reach no upstream and move no pool counter.
import type { IncomingMessage } from 'node:http';
import { createConnection } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { countersOf, expectUntouched, type ServiceCounters } from '../../helpers/pool-counters.js';
import type { TestUpstream } from '../../helpers/upstream.js';
import { rawExchange, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

const SERVICES = ['public', 'internal', 'rest', 'shop', 'backoffice'] as const;
type Name = (typeof SERVICES)[number];

function route(name: Name, up: TestUpstream, hosts: string[], pathPrefix: string): Record<string, unknown> {
  return { ...service(name, [up.address]), match: { hosts, pathPrefix } };
}

interface FrontDoor {
  v: TestVeer;
  ups: Record<Name, TestUpstream>;
  /** Requests received by every upstream together. */
  hits(): number;
  /** Every service's pool counters. */
  counters(): Promise<Record<Name, ServiceCounters>>;
  /** No service's pool counter, histogram, ejection or failure streak moved since `before`. */
  untouched(before: Record<Name, ServiceCounters>): Promise<void>;
}

async function frontDoor(proxy: Record<string, unknown> = {}): Promise<FrontDoor> {
  const list = await Promise.all(SERVICES.map((n) => h.upstream(n)));
  const ups = Object.fromEntries(SERVICES.map((n, i) => [n, list[i]])) as Record<Name, TestUpstream>;
  const v = await h.veer({
    services: [
      route('public', ups.public, ['*'], '/public'),
      route('internal', ups.internal, ['*'], '/internal'),
      route('rest', ups.rest, ['*'], '/'),
      route('shop', ups.shop, ['shop.example'], '/'),
      route('backoffice', ups.backoffice, ['backoffice.example'], '/'),
    ],
    proxy,
  });
  const counters = async (): Promise<Record<Name, ServiceCounters>> =>
    Object.fromEntries(await Promise.all(SERVICES.map(async (n) => [n, await countersOf(v, n)]))) as Record<
      Name,
      ServiceCounters
    >;
  return {
    v,
    ups,
    hits: () => list.reduce((n, u) => n + u.hits, 0),
    counters,
    async untouched(before) {
      for (const n of SERVICES) await expectUntouched(v, before[n], n);
    },
  };
}

interface Answer {
  status: number;
  /** The proxy's error code, when the answer is one of veer's JSON errors. */
  code: string | undefined;
  data: string;
  closedByPeer: boolean;
}

/** One request as raw bytes on a fresh connection; `Connection: close` makes the peer end it. */
async function send(
  v: TestVeer,
  requestLine: string,
  headers: string[] = ['Host: front.test'],
  body = '',
): Promise<Answer> {
  const r = await rawExchange(
    v.port,
    `${requestLine}\r\n${[...headers, 'Connection: close'].join('\r\n')}\r\n\r\n${body}`,
  );
  return {
    status: Number(r.data.slice(9, 12)),
    code: /"code":"(\w+)"/.exec(r.data)?.[1],
    data: r.data,
    closedByPeer: r.closedByPeer,
  };
}

/** The one upstream that received a request since `before` (hit counts), with what it received. */
function receiver(
  f: FrontDoor,
  before: Record<Name, number>,
): { name: Name; request: TestUpstream['requests'][number] } {
  const moved = SERVICES.filter((n) => f.ups[n].hits !== before[n]);
  expect(moved, 'exactly one upstream received the request').toHaveLength(1);
  const name = moved[0] as Name;
  const up = f.ups[name];
  expect(up.hits - before[name]).toBe(1);
  return { name, request: up.requests.at(-1) as TestUpstream['requests'][number] };
}

function hitCounts(f: FrontDoor): Record<Name, number> {
  return Object.fromEntries(SERVICES.map((n) => [n, f.ups[n].hits])) as Record<Name, number>;
}

/** Sends `GET <target>` and returns who received it and as what. */
async function routed(
  f: FrontDoor,
  target: string,
  headers?: string[],
): Promise<{ name: Name; url: string; host: string | undefined; status: number }> {
  const before = hitCounts(f);
  const r = await send(f.v, `GET ${target} HTTP/1.1`, headers);
  expect(r.status, `${target}: ${r.data.slice(0, 200)}`).toBe(200);
  // The upstream records a request once its body ended, before it answers: the answer implies it.
  const { name, request } = receiver(f, before);
  return { name, url: request.url, host: request.headers.host, status: r.status };
}

describe('dot-segments are removed before routing, and the upstream receives the path that was routed', () => {
  it('plain and percent-encoded ".." out of /public reach /internal as /internal/…, never /public', async () => {
    const f = await frontDoor();
    const targets = [
      '/public/../internal/secret',
      '/public/%2e%2e/internal/secret',
      '/public/%2E%2E/internal/secret',
      '/public/.%2e/internal/secret',
      '/public/%2e./internal/secret',
      '/public/%2E%2e/internal/secret',
      '/public/./../internal/secret',
      '/public/%2e/%2e%2e/internal/secret',
      '/public/a/b/../../../internal/secret',
      '/public/x/%2e%2e/%2E%2e/internal/secret',
      // Never climbs above "/": extra ".." are dropped, not kept.
      '/public/../../../../internal/secret',
      '/%2e%2e/public/../internal/secret',
    ];
    for (const t of targets) {
      const r = await routed(f, t);
      expect({ name: r.name, url: r.url }, t).toEqual({ name: 'internal', url: '/internal/secret' });
    }
    expect(f.ups.public.hits).toBe(0);
  });

  it('resolves ".", ".." and encoded unreserved characters everywhere in the path', async () => {
    const f = await frontDoor();
    const cases: Array<[string, Name, string]> = [
      ['/internal/../public/page', 'public', '/public/page'],
      ['/internal/%2e%2e/public/page', 'public', '/public/page'],
      ['/public/a/./b/../c', 'public', '/public/a/c'],
      ['/public/x/..', 'public', '/public/'],
      ['/public/x/.', 'public', '/public/x/'],
      ['/public/%2e', 'public', '/public/'],
      ['/public/..', 'rest', '/'],
      ['/public/%2e%2e?x=1', 'rest', '/?x=1'],
      // Percent-encoded unreserved characters are the same URI (RFC 3986 §6.2.2.2): decoded.
      ['/%70ublic/x', 'public', '/public/x'],
      ['/%70%75%62%6C%69%63/x', 'public', '/public/x'],
      ['/%69nternal/secret', 'internal', '/internal/secret'],
      ['/public/%7Euser', 'public', '/public/~user'],
      // Reserved escapes are data, not delimiters: they stay as sent, and do not split segments.
      ['/public/a%2Fb', 'public', '/public/a%2Fb'],
      ['/public%2Finternal', 'rest', '/public%2Finternal'],
      // Decoded once, never twice: "%252e" is the text "%2e", not a dot.
      ['/public/%252e%252e/internal', 'public', '/public/%252e%252e/internal'],
      ['/public/.../internal', 'public', '/public/.../internal'],
      ['/public/..x/internal', 'public', '/public/..x/internal'],
    ];
    for (const [t, name, url] of cases) {
      const r = await routed(f, t);
      expect({ name: r.name, url: r.url }, t).toEqual({ name, url });
    }
  });

  it('leaves the query string alone', async () => {
    const f = await frontDoor();
    const cases: Array<[string, Name, string]> = [
      ['/public/x?next=/../internal/secret&y=%2e%2e', 'public', '/public/x?next=/../internal/secret&y=%2e%2e'],
      ['/public/x?a=..%2f..%2f&b=\\', 'public', '/public/x?a=..%2f..%2f&b=\\'],
      ['/public/../internal/s?back=/../public/%2e%2e', 'internal', '/internal/s?back=/../public/%2e%2e'],
      ['/public?/../internal', 'public', '/public?/../internal'],
    ];
    for (const [t, name, url] of cases) {
      const r = await routed(f, t);
      expect({ name: r.name, url: r.url }, t).toEqual({ name, url });
    }
  });

  it('a path with nothing to normalize is forwarded byte for byte', async () => {
    const f = await frontDoor();
    for (const t of [
      '/public/a/b.c/d..e/.f',
      '/public/x;y=1/z',
      '/public/a%20b',
      '/public//double//slash',
      '/internal/a.b?c=d',
    ]) {
      const r = await routed(f, t);
      expect(r.url, t).toBe(t);
    }
  });
});

describe('ambiguous targets are refused 400 bad_path, and nothing reaches a pool', () => {
  it('a dot-segment hidden behind an encoded slash or backslash, or carrying path parameters', async () => {
    const f = await frontDoor();
    const before = await f.counters();
    const targets = [
      '/public/..%2finternal/secret',
      '/public/..%2Finternal/secret',
      '/public/%2e%2e%2finternal/secret',
      '/public/.%2e%2Finternal/secret',
      '/public%2f..%2finternal/secret',
      '/public/x%2f..%2f..%2finternal/secret',
      '/public/..%5cinternal/secret',
      '/public/..%5Cinternal/secret',
      '/public/%2e%2e%5cinternal/secret',
      '/public/..;/internal/secret',
      '/public/..;jsessionid=1/internal/secret',
      '/public/%2e%2e;/internal/secret',
      '/public/.;x/../internal/secret',
    ];
    for (const t of targets) {
      const r = await send(f.v, `GET ${t} HTTP/1.1`);
      expect({ status: r.status, code: r.code }, t).toEqual({ status: 400, code: 'bad_path' });
    }
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });

  it('a raw backslash, a broken escape or a fragment', async () => {
    const f = await frontDoor();
    const before = await f.counters();
    const targets = [
      '/public\\..\\internal\\secret',
      '/public\\internal',
      '/public/..\\internal/secret',
      '/public/\\',
      '/public/%zz/x',
      '/public/%2',
      '/public/%',
      '/public/%%32%65%%32%65/internal',
      '/public/%u002e%u002e/internal',
      '/public/x#/../../internal',
      '/public/x#frag',
    ];
    for (const t of targets) {
      const r = await send(f.v, `GET ${t} HTTP/1.1`);
      expect({ status: r.status, code: r.code }, t).toEqual({ status: 400, code: 'bad_path' });
    }
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });

  it('the same ambiguous shapes in an absolute-form target', async () => {
    const f = await frontDoor();
    const before = await f.counters();
    for (const t of [
      'http://front.test/public/..%2finternal/secret',
      'http://front.test/public/..;/internal',
      'http://front.test/public\\..\\internal',
      'http://shop.example/x#frag',
      'http://shop.example/%zz',
    ]) {
      const r = await send(f.v, `GET ${t} HTTP/1.1`);
      expect({ status: r.status, code: r.code }, t).toEqual({ status: 400, code: 'bad_path' });
    }
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });
});

describe('targets with nothing to route', () => {
  it('"OPTIONS *" and "GET *" are refused 400 bad_path', async () => {
    const f = await frontDoor();
    const before = await f.counters();
    for (const line of ['OPTIONS * HTTP/1.1', 'GET * HTTP/1.1']) {
      const r = await send(f.v, line);
      expect({ status: r.status, code: r.code }, line).toEqual({ status: 400, code: 'bad_path' });
    }
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });

  it("CONNECT is refused 405 (no forward proxy); an authority-form GET is refused by Node's parser", async () => {
    const f = await frontDoor();
    const before = await f.counters();
    for (const line of ['CONNECT shop.example:443 HTTP/1.1', 'CONNECT 127.0.0.1:22 HTTP/1.1']) {
      const r = await send(f.v, line, ['Host: shop.example:443']);
      expect(r.status, line).toBe(405);
      expect(r.code, line).toBe('method_not_allowed');
    }
    // Authority form is only valid for CONNECT; llhttp refuses it (HPE_INVALID_URL) before veer sees it.
    const r = await send(f.v, 'GET shop.example:443 HTTP/1.1');
    expect(r.status).toBe(400);
    expect(r.code).toBe('bad_request');
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });
});

describe('absolute form: http/https only, and its authority is routed and replaces Host', () => {
  it('routes by the authority and forwards it as the only Host', async () => {
    const f = await frontDoor();
    const before = hitCounts(f);
    const r = await send(f.v, 'GET http://shop.example/cart?id=7 HTTP/1.1', ['Host: backoffice.example']);
    expect(r.status).toBe(200);
    const { name, request } = receiver(f, before);
    expect(name).toBe('shop');
    expect(request.url).toBe('/cart?id=7');
    expect(request.headers.host).toBe('shop.example');
    expect(
      request.rawHeaders.filter((_, i) => i % 2 === 0 && request.rawHeaders[i]?.toLowerCase() === 'host'),
    ).toHaveLength(1);
    expect(request.headers['x-forwarded-host']).toBe('shop.example');
    expect(JSON.stringify(request.rawHeaders)).not.toContain('backoffice.example');

    // And the other way round: the authority wins whichever service the Host header names.
    const back = await routed(f, 'http://backoffice.example/admin', ['Host: shop.example']);
    expect(back).toMatchObject({ name: 'backoffice', url: '/admin', host: 'backoffice.example' });
  });

  it('keeps the port, takes the scheme in any case, and supplies "/" for an empty path', async () => {
    const f = await frontDoor();
    const cases: Array<[string, Name, string, string]> = [
      ['http://shop.example:8080/p?q=1', 'shop', '/p?q=1', 'shop.example:8080'],
      ['HTTPS://Shop.Example/x', 'shop', '/x', 'Shop.Example'],
      ['https://shop.example', 'shop', '/', 'shop.example'],
      ['http://shop.example?x=1', 'shop', '/?x=1', 'shop.example'],
      ['http://front.test/public/%2e%2e/internal/secret', 'internal', '/internal/secret', 'front.test'],
      ['http://front.test/%70ublic/x', 'public', '/public/x', 'front.test'],
      ['http://127.0.0.1:1/internal', 'internal', '/internal', '127.0.0.1:1'],
    ];
    for (const [t, name, url, host] of cases) {
      const r = await routed(f, t, ['Host: backoffice.example']);
      expect({ name: r.name, url: r.url, host: r.host }, t).toEqual({ name, url, host });
    }
  });

  it('an HTTP/1.0 absolute-form request without Host gets the authority as Host', async () => {
    const f = await frontDoor();
    const before = hitCounts(f);
    const r = await rawExchange(f.v.port, 'GET http://shop.example/old HTTP/1.0\r\n\r\n');
    expect(r.data).toMatch(/^HTTP\/1\.1 200/);
    const { name, request } = receiver(f, before);
    expect({ name, url: request.url, host: request.headers.host }).toEqual({
      name: 'shop',
      url: '/old',
      host: 'shop.example',
    });
  });

  it('refuses userinfo, an empty or malformed authority and other schemes (400), reaching nobody', async () => {
    const f = await frontDoor();
    const before = await f.counters();
    const cases: Array<[string, string]> = [
      ['http://user@shop.example/', 'bad_host'],
      ['http://user:secret@shop.example/', 'bad_host'],
      ['http://backoffice.example@shop.example/', 'bad_host'],
      ['http://shop.example:80@backoffice.example/', 'bad_host'],
      ['http:///cart', 'bad_host'],
      ['http://:8080/cart', 'bad_host'],
      ['http://shop.example:80:80/', 'bad_host'],
      ['http://shop.example:123456/', 'bad_host'],
      ['http://[::1/', 'bad_host'],
      ['http://[shop.example]/', 'bad_host'],
      ['ftp://shop.example/', 'bad_path'],
      ['ws://shop.example/', 'bad_path'],
      ['file:///etc/passwd', 'bad_path'],
      ['gopher://shop.example/', 'bad_path'],
      ['httpx://shop.example/', 'bad_path'],
    ];
    for (const [t, code] of cases) {
      const r = await send(f.v, `GET ${t} HTTP/1.1`, ['Host: shop.example']);
      expect({ status: r.status, code: r.code }, t).toEqual({ status: 400, code });
    }
    // Shapes llhttp refuses itself (400 bad_request from the listener): a backslash, a "#" or a
    // space in the authority, a scheme without "//".
    for (const t of [
      'http://shop.example\\@backoffice.example/',
      'http://shop.example#frag',
      'http:/shop.example/',
      'http://shop example/',
    ]) {
      const r = await send(f.v, `GET ${t} HTTP/1.1`, ['Host: shop.example']);
      expect(r.status, t).toBe(400);
    }
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });

  it('an HTTP/1.1 absolute-form request without Host is refused 400 bad_host (RFC 9112 §3.2)', async () => {
    const f = await frontDoor();
    const before = await f.counters();
    const r = await rawExchange(f.v.port, 'GET http://shop.example/ HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(r.data).toMatch(/^HTTP\/1\.1 400/);
    expect(r.data).toContain('"code":"bad_host"');
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });
});

describe('Host', () => {
  it('more than one Host field is refused 400 bad_host, whatever their case, values or target form', async () => {
    const f = await frontDoor();
    const before = await f.counters();
    const cases: Array<[string, string[]]> = [
      ['GET /public/x HTTP/1.1', ['Host: shop.example', 'Host: backoffice.example']],
      ['GET /public/x HTTP/1.1', ['Host: front.test', 'host: front.test']],
      ['GET /public/x HTTP/1.1', ['HOST: shop.example', 'X-Between: 1', 'hOsT: backoffice.example']],
      ['GET http://shop.example/ HTTP/1.1', ['Host: shop.example', 'Host: backoffice.example']],
    ];
    for (const [line, headers] of cases) {
      const r = await send(f.v, line, headers);
      expect({ status: r.status, code: r.code }, headers.join(' | ')).toEqual({ status: 400, code: 'bad_host' });
    }
    expect(f.hits()).toBe(0);
    await f.untouched(before);
  });
});

describe('a Connection header never removes Host or a header veer sets', () => {
  it('names Host, Content-Length, Via and the X-Forwarded-* fields: all still reach the upstream', async () => {
    const f = await frontDoor();
    const r = await send(
      f.v,
      'POST /public/form HTTP/1.1',
      [
        'Host: front.test',
        'Connection: host, x-forwarded-for, via, content-length, ' +
          'x-forwarded-host, x-forwarded-proto, forwarded, x-drop',
        'X-Forwarded-For: 6.6.6.6',
        'Via: 1.0 cdn',
        'X-Drop: gone',
        'X-Keep: kept',
        'Content-Length: 5',
      ],
      'hello',
    );
    expect(r.status).toBe(200);
    const seen = f.ups.public.requests.at(-1);
    expect(seen?.url).toBe('/public/form');
    expect(seen?.headers.host).toBe('front.test');
    expect(seen?.headers['content-length']).toBe('5');
    expect(seen?.body).toBe('hello');
    expect(seen?.headers.via).toBe('1.0 cdn, 1.1 veer');
    expect(seen?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen?.headers['x-forwarded-host']).toBe('front.test');
    expect(seen?.headers['x-forwarded-proto']).toBe('http');
    // A Connection-listed name veer does not own is still dropped (RFC 9110 §7.6.1).
    expect(seen?.headers['x-drop']).toBeUndefined();
    expect(seen?.headers['x-keep']).toBe('kept');
  });

  it('in any case, over several Connection fields, in an absolute-form request too', async () => {
    const f = await frontDoor();
    let r = await send(f.v, 'GET /internal/x HTTP/1.1', [
      'Host: front.test',
      'Connection: HOST , Via',
      'connection: X-Forwarded-Host,content-length',
    ]);
    expect(r.status).toBe(200);
    let seen = f.ups.internal.requests.at(-1);
    expect(seen?.headers.host).toBe('front.test');
    expect(seen?.headers.via).toBe('1.1 veer');
    expect(seen?.headers['x-forwarded-host']).toBe('front.test');

    r = await send(f.v, 'GET http://shop.example/x HTTP/1.1', ['Host: backoffice.example', 'Connection: host']);
    expect(r.status).toBe(200);
    seen = f.ups.shop.requests.at(-1);
    expect(seen?.headers.host).toBe('shop.example');
    expect(f.ups.backoffice.hits).toBe(0);
  });

  it('from a trusted proxy, a Connection-listed X-Forwarded-For is still extended, not dropped', async () => {
    const f = await frontDoor({ trustedProxies: ['127.0.0.1'] });
    const r = await send(f.v, 'GET /public/x HTTP/1.1', [
      'Host: front.test',
      'Connection: x-forwarded-for, x-forwarded-proto',
      'X-Forwarded-For: 198.51.100.4',
      'X-Forwarded-Proto: https',
    ]);
    expect(r.status).toBe(200);
    const seen = f.ups.public.requests.at(-1);
    expect(seen?.headers['x-forwarded-for']).toBe('198.51.100.4, 127.0.0.1');
    expect(seen?.headers['x-forwarded-proto']).toBe('https');
  });
});

describe('upgrades pass the same admission', () => {
  /** A raw upgrade server that records the target it was asked for and switches protocols. */
  async function upgradeServer(name: string) {
    const urls: string[] = [];
    const s = await h.server(
      (_req, res) => res.end(name),
      (req: IncomingMessage, socket: Duplex) => {
        urls.push(req.url ?? '');
        socket.on('error', () => socket.destroy());
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `X-Upstream: ${name}\r\n\r\n`,
        );
      },
    );
    return { ...s, urls };
  }

  /** Sends an upgrade request and resolves with the response head (the socket is then closed). */
  function upgradeHead(v: TestVeer, target: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const s = createConnection({ host: '127.0.0.1', port: v.port });
      let buf = '';
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`no answer to the upgrade of ${target}: ${JSON.stringify(buf)}`));
      }, 5_000);
      s.on('error', () => undefined);
      s.on('data', (c: Buffer) => {
        buf += c.toString('latin1');
        if (!buf.includes('\r\n\r\n')) return;
        clearTimeout(timer);
        s.destroy();
        resolve(buf);
      });
      s.write(`GET ${target} HTTP/1.1\r\nHost: front.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n`);
    });
  }

  it('an upgrade is routed by the normalized path, and an ambiguous one is refused before any upstream', async () => {
    const pub = await upgradeServer('public');
    const internal = await upgradeServer('internal');
    const v = await h.veer({
      services: [
        { ...service('public', [pub.address]), match: { hosts: ['*'], pathPrefix: '/public' } },
        { ...service('internal', [internal.address]), match: { hosts: ['*'], pathPrefix: '/internal' } },
      ],
    });
    const head = await upgradeHead(v, '/public/%2e%2e/internal/ws?room=1');
    expect(head).toMatch(/^HTTP\/1\.1 101/);
    expect(head.toLowerCase()).toContain('x-upstream: internal');
    await waitFor(() => internal.urls.length === 1, 'the internal upstream to see the upgrade', 3_000);
    expect(internal.urls).toEqual(['/internal/ws?room=1']);

    const before = { public: await countersOf(v, 'public'), internal: await countersOf(v, 'internal') };
    for (const t of ['/public/..%2finternal/ws', '/public/..;/internal/ws', '/public\\..\\internal\\ws']) {
      const refused = await upgradeHead(v, t);
      expect(refused, t).toMatch(/^HTTP\/1\.1 400/);
      expect(refused, t).toContain('bad_path');
    }
    expect(pub.urls).toEqual([]);
    expect(internal.urls).toHaveLength(1);
    await expectUntouched(v, before.public, 'public');
    await expectUntouched(v, before.internal, 'internal');
  });
});
