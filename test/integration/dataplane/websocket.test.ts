// HTTP Upgrade (WebSocket) through veer to a minimal raw upgrade echo server (no ws library): bytes
// round-trip, failures answer 502 without hurting other traffic, the split applies to upgrades.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { countersOf, expectUntouched } from '../../helpers/pool-counters.js';
import {
  deadPort,
  errorCode,
  http,
  rawExchange,
  service,
  useHarness,
  waitFor,
  type HttpResult,
} from '../../helpers/veer.js';

const h = useHarness();

/** An upstream that accepts every Upgrade, names itself in the 101, and echoes bytes back. */
async function echoServer(name: string) {
  const upgrades: IncomingHttpHeaders[] = [];
  const paths: string[] = [];
  const s = await h.server(
    (_req, res) => res.writeHead(200, { 'x-upstream': name }).end(name),
    (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      upgrades.push(req.headers);
      paths.push(req.url ?? '');
      socket.on('error', () => socket.destroy());
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade ?? 'websocket'}\r\n` +
          `Connection: Upgrade\r\nX-Upstream: ${name}\r\n\r\n`,
      );
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    },
  );
  return { ...s, upgrades, paths };
}

type UpgradeOutcome =
  { kind: 'upgraded'; headers: IncomingHttpHeaders; socket: Socket } | { kind: 'refused'; response: HttpResult };

function upgrade(url: string, headers: Record<string, string> = {}): Promise<UpgradeOutcome> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', ...headers },
    });
    const timer = setTimeout(() => req.destroy(new Error('upgrade timed out')), 5_000);
    req.on('upgrade', (res, socket) => {
      clearTimeout(timer);
      h.defer(() => socket.destroy());
      resolve({ kind: 'upgraded', headers: res.headers, socket });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({
          kind: 'refused',
          response: {
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            text: body.toString(),
            complete: res.complete,
          },
        });
      });
    });
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

/** Writes `data` and reads until as many bytes came back (bounded). */
function roundTrip(socket: Socket, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`echo timed out after ${got} of ${data.length} bytes`)), 5_000);
    const onData = (c: Buffer): void => {
      chunks.push(c);
      got += c.length;
      if (got >= data.length) {
        clearTimeout(timer);
        socket.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    socket.on('data', onData);
    socket.write(data);
  });
}

describe('websocket upgrades', () => {
  it('round-trips bytes through veer and adds the forwarding headers', async () => {
    const up = await echoServer('echo');
    const v = await h.veer({ services: [service('web', [up.address])] });
    const r = await upgrade(`${v.url}/ws?room=1`);
    expect(r.kind).toBe('upgraded');
    if (r.kind !== 'upgraded') return;
    expect(r.headers['x-upstream']).toBe('echo');
    const small = Buffer.from('hello through veer');
    expect((await roundTrip(r.socket, small)).equals(small)).toBe(true);
    const big = Buffer.alloc(256 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    expect((await roundTrip(r.socket, big)).equals(big)).toBe(true);
    expect(up.upgrades).toHaveLength(1);
    expect(up.upgrades[0]?.via).toBe('1.1 veer');
    expect(up.upgrades[0]?.['x-forwarded-for']).toBe('127.0.0.1');
    expect(v.plane.targets('web', 'stable')[0]?.outstanding).toBe(1);
    r.socket.destroy();
    await waitFor(
      () => v.plane.targets('web', 'stable')[0]?.outstanding === 0,
      'the upgraded connection to be released',
      3_000,
    );
  });

  it('answers 502 when the target is dead, and keeps serving', async () => {
    const live = await echoServer('live');
    const v = await h.veer({
      services: [
        {
          name: 'chat',
          match: { hosts: ['*'], pathPrefix: '/chat' },
          stable: { targets: [`127.0.0.1:${await deadPort()}`] },
        },
        service('web', [live.address]),
      ],
    });
    for (let i = 0; i < 3; i++) {
      const r = await upgrade(`${v.url}/chat`);
      expect(r.kind).toBe('refused');
      if (r.kind !== 'refused') return;
      expect(r.response.status).toBe(502);
      expect(errorCode(r.response)).toBe('upstream_unreachable');
    }
    await waitFor(() => v.plane.targets('chat', 'stable')[0]?.outstanding === 0, 'dead upgrades to be released', 3_000);
    expect((await http(`${v.url}/plain`)).status).toBe(200);
    const ok = await upgrade(`${v.url}/ws`);
    expect(ok.kind).toBe('upgraded');
    if (ok.kind === 'upgraded') expect((await roundTrip(ok.socket, Buffer.from('ping'))).toString()).toBe('ping');
  });

  it('follows the split: weight 100 upgrades to canary, the override header to stable', async () => {
    const stable = await echoServer('stable');
    const canary = await echoServer('canary');
    const v = await h.veer({
      services: [service('web', [stable.address], [canary.address], { weight: 100 })],
      proxy: { overrideHeader: 'x-veer-pool' },
    });
    for (let i = 0; i < 3; i++) {
      const r = await upgrade(`${v.url}/ws`);
      expect(r.kind === 'upgraded' && r.headers['x-upstream']).toBe('canary');
    }
    const forced = await upgrade(`${v.url}/ws`, { 'x-veer-pool': 'stable' });
    expect(forced.kind === 'upgraded' && forced.headers['x-upstream']).toBe('stable');
    expect(canary.upgrades).toHaveLength(3);
    expect(stable.upgrades).toHaveLength(1);
  });

  it('sets the sticky cookie it drew on the 101, and a client that sends it back stays in its pool', async () => {
    const stable = await echoServer('stable');
    const canary = await echoServer('canary');
    const v = await h.veer({
      services: [service('web', [stable.address], [canary.address], { weight: 50, sticky: { cookie: 'veer-web' } })],
    });
    for (let i = 0; i < 6; i++) {
      const first = await upgrade(`${v.url}/ws`);
      if (first.kind !== 'upgraded') throw new Error('the handshake was refused');
      const set = first.headers['set-cookie'] ?? [];
      expect(set).toHaveLength(1);
      const pair = (set[0] as string).split(';')[0] as string;
      expect(pair).toMatch(/^veer-web=\d{1,4}$/);
      const pool = first.headers['x-upstream'];
      expect(pool).toBe(Number(pair.split('=')[1]) < 5000 ? 'canary' : 'stable');
      for (let j = 0; j < 3; j++) {
        const again = await upgrade(`${v.url}/ws`, { cookie: pair });
        expect(again.kind === 'upgraded' && again.headers['x-upstream']).toBe(pool);
      }
    }
  });

  it('relays an upstream that refuses the upgrade as a well-formed answer', async () => {
    const up = await h.upstream('plain', { status: 426, body: 'need another protocol' });
    const v = await h.veer({ services: [service('web', [up.address])] });
    for (let i = 0; i < 2; i++) {
      const r = await upgrade(`${v.url}/ws`);
      expect(r.kind).toBe('refused');
      if (r.kind !== 'refused') return;
      expect(r.response.status).toBe(426);
      expect(r.response.text).toBe('need another protocol');
      expect(r.response.complete).toBe(true);
      expect(r.response.headers['x-upstream']).toBe('plain');
    }
    await waitFor(
      () => v.plane.targets('web', 'stable')[0]?.outstanding === 0,
      'refused upgrades to be released',
      3_000,
    );
    expect(up.hits).toBe(2);
  });

  it('refuses an upgrade that loops back through veer with 508', async () => {
    const up = await echoServer('echo');
    const v = await h.veer({ services: [service('web', [up.address])] });
    const r = await upgrade(`${v.url}/ws`, { via: '1.1 veer' });
    expect(r.kind === 'refused' && r.response.status).toBe(508);
    expect(up.upgrades).toHaveLength(0);
  });

  it('forwards the handshake as routed: the path as sent, Connection-listed fields and session dropped', async () => {
    const up = await echoServer('echo');
    const v = await h.veer({ services: [service('web', [up.address])] });
    const r = await rawExchange(
      v.port,
      'GET //chat//room?x=1 HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade, x-drop\r\n' +
        'X-Drop: secret\r\nX-Keep: yes\r\nCookie: a=1; veer_session=s3cr3t\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
      1_000,
    );
    expect(r.data).toMatch(/^HTTP\/1\.1 101/);
    expect(up.upgrades).toHaveLength(1);
    expect(up.upgrades[0]?.['x-drop']).toBeUndefined();
    expect(up.upgrades[0]?.['x-keep']).toBe('yes');
    // veer's dashboard session never reaches an upstream (browsers send it to every port of the host).
    expect(up.upgrades[0]?.cookie).toBe('a=1');
    expect(up.paths).toEqual(['//chat//room?x=1']);
  });

  it('refuses a WebSocket handshake that declares a body, reaching no target', async () => {
    const up = await echoServer('echo');
    const v = await h.veer({ services: [service('web', [up.address])] });
    for (const framing of ['Content-Length: 1', 'Transfer-Encoding: chunked']) {
      const r = await rawExchange(
        v.port,
        `GET /ws HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n${framing}\r\n\r\nx`,
      );
      expect(r.data, framing).toMatch(/^HTTP\/1\.1 400/);
      expect(r.closedByPeer, framing).toBe(true);
    }
    expect(up.upgrades).toHaveLength(0);
    expect(v.plane.targets('web', 'stable')[0]?.outstanding).toBe(0);
  });

  it('answers another Upgrade (h2c) or a non-GET one as the plain request it also is, then closes', async () => {
    const up = await h.upstream('plain');
    const v = await h.veer({ services: [service('web', [up.address])] });
    for (const [method, protocol, version] of [
      ['GET', 'h2c', '1.1'],
      ['POST', 'websocket', '1.1'],
      ['OPTIONS', 'foo/1', '1.1'],
      // An Upgrade in an HTTP/1.0 request is ignored (RFC 9110 §7.8).
      ['GET', 'websocket', '1.0'],
    ] as const) {
      const r = await rawExchange(
        v.port,
        `${method} /x HTTP/${version}\r\nHost: t\r\nUpgrade: ${protocol}\r\nConnection: Upgrade\r\n\r\n`,
      );
      expect(r.data, `${method} ${protocol}`).toMatch(/^HTTP\/1\.1 200/);
      expect(r.data.toLowerCase()).toContain('x-upstream: plain');
      expect(r.closedByPeer).toBe(true);
    }
    expect(up.requests.map((q) => [q.method, q.headers.upgrade])).toEqual([
      ['GET', undefined],
      ['POST', undefined],
      ['OPTIONS', undefined],
      ['GET', undefined],
    ]);
    await waitFor(() => v.plane.inFlight === 0, 'the answers to be released', 3_000);
  });

  it('refuses an upgrade to an h2c (gRPC) service 501, never against its pools, whichever pool it is in', async () => {
    const up = await h.upstream('grpc');
    const canary = await h.upstream('grpc-canary');
    const extra = { upstream: { protocol: 'h2c' }, sticky: { cookie: 'veer-api' }, weight: 50 };
    const v = await h.veer({ services: [service('api', [up.address], [canary.address], extra)] });
    const before = await countersOf(v, 'api');
    for (const bucket of [0, 9_999]) {
      const r = await upgrade(`${v.url}/chat`, { cookie: `veer-api=${bucket}` });
      expect(r.kind).toBe('refused');
      if (r.kind !== 'refused') return;
      expect([r.response.status, errorCode(r.response)]).toEqual([501, 'upgrade_unsupported']);
    }
    expect(up.hits + canary.hits).toBe(0);
    await expectUntouched(v, before, 'api');
  });

  it("gives veer's own refusals of an upgrade the request id, in a header and in the body", async () => {
    const up = await h.upstream('plain');
    const v = await h.veer({ services: [{ ...service('web', [up.address]), match: { hosts: ['a.test'] } }] });
    const r = await upgrade(`${v.url}/ws`, { host: 'elsewhere.test' });
    expect(r.kind).toBe('refused');
    if (r.kind !== 'refused') return;
    expect([r.response.status, errorCode(r.response)]).toEqual([404, 'no_route']);
    const id = r.response.headers['x-request-id'];
    expect(id).toMatch(/^\S+$/);
    expect((JSON.parse(r.response.text) as { error: { requestId?: string } }).error.requestId).toBe(id);
  });

  it('refuses a handshake in maintenance, page or hold, 503 with Retry-After, reaching no target', async () => {
    const up = await echoServer('echo');
    const v = await h.veer({ services: [service('web', [up.address])] });
    const before = await countersOf(v);
    const switchTo = async (body: Record<string, unknown>) => {
      const headers = { 'content-type': 'application/json' };
      const url = `${v.adminUrl}/v1/services/web/maintenance`;
      expect((await http(url, { method: 'POST', headers, body: JSON.stringify(body) })).status).toBe(200);
    };
    for (const mode of ['page', 'hold']) {
      await switchTo({ on: true, mode, retryAfter: '45s' });
      const r = await upgrade(`${v.url}/ws`);
      expect(r.kind).toBe('refused');
      if (r.kind !== 'refused') return;
      expect([r.response.status, errorCode(r.response), r.response.headers['retry-after']]).toEqual([
        503,
        'maintenance',
        '45',
      ]);
      expect(r.response.headers['x-request-id']).toMatch(/^\S+$/);
    }
    expect(up.upgrades).toHaveLength(0);
    expect(v.plane.maintenance.held).toBe(0);
    await expectUntouched(v, before);
    await switchTo({ on: false });
    expect((await upgrade(`${v.url}/ws`)).kind).toBe('upgraded');
  });

  it('refuses CONNECT with 405', async () => {
    const up = await h.upstream('plain');
    const v = await h.veer({ services: [service('web', [up.address])] });
    const r = await rawExchange(v.port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
    expect(r.data).toMatch(/^HTTP\/1\.1 405/);
    expect(r.data).toContain('"code":"method_not_allowed"');
    expect(up.hits).toBe(0);
  });
});
