// HTTP/2 to clients over ALPN on the TLS port, with real clients (node:http2, node:https, curl):
// both protocols on one port reach the same routes; pseudo-headers and hop-by-hop fields never go
// upstream (which stays HTTP/1.1); bodies without Content-Length are forwarded; WebSocket upgrades
// over TLS work; the stream and header limits hold; a rapid-reset client loses its connection.
import { execFile } from 'node:child_process';
import { connect as h2connect, constants } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { testCa } from '../../helpers/certs.js';
import { http2, https1 } from '../../helpers/tls-client.js';
import { http, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();
const ca = testCa();
afterAll(() => ca.remove());
const pair = ca.issue(['a.test']);

async function veerWith(tls: Record<string, unknown> = {}, delayMs = 0) {
  const up = await h.upstream('stable', { delayMs });
  const logged: string[] = [];
  const log = { log: (_level: string, msg: string) => void logged.push(msg) };
  const v = await h.veer({ services: [service('web', [up.address])], tls: { certificates: [pair], ...tls }, log });
  return { up, v, port: v.tlsPort as number, logged };
}

function curl(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('curl', ['-sS', '--max-time', '10', '--cacert', ca.caFile, ...args], (e, out) =>
      e ? reject(e) : resolve(out),
    ),
  );
}

function connectH2(port: number) {
  const session = h2connect(`https://a.test:${port}`, { host: '127.0.0.1', servername: 'a.test', ca: ca.caPem });
  session.on('error', () => {});
  h.defer(() => session.destroy());
  return session;
}

describe('HTTP/2 over ALPN', () => {
  it('serves h2 and HTTP/1.1 on the same port, forwarding no pseudo-header upstream', async () => {
    const { up, port } = await veerWith();
    const two = await http2({ port, name: 'a.test', ca: ca.caPem, path: '/h2?q=1', headers: { cookie: 'a=1' } });
    expect([two.status, two.text, two.protocol]).toEqual([200, 'stable', 'h2']);
    const one = await https1({ port, name: 'a.test', ca: ca.caPem, path: '/h1' });
    expect([one.status, one.text, one.protocol]).toEqual([200, 'stable', 'http/1.1']);
    const seen = up.requests.find((r) => r.url === '/h2?q=1');
    expect(seen?.rawHeaders.filter((_, i) => i % 2 === 0).some((n) => n.startsWith(':'))).toBe(false);
    expect(seen?.headers.host).toBe(`a.test:${port}`);
    expect(seen?.headers['x-forwarded-proto']).toBe('https');
    expect(seen?.headers.cookie).toBe('a=1');
  });

  it('forwards an h2 request body sent without Content-Length, and joins split Cookie fields', async () => {
    const { up, port } = await veerWith();
    const session = connectH2(port);
    const stream = session.request({ ':method': 'POST', ':path': '/upload', cookie: ['a=1', 'b=2'] });
    stream.write('hello ');
    stream.end('world');
    const status = await new Promise<number>((resolve) =>
      stream.on('response', (hd) => resolve(Number(hd[':status']))),
    );
    stream.resume();
    expect(status).toBe(200);
    const seen = up.requests.find((r) => r.url === '/upload');
    expect(seen?.body).toBe('hello world');
    expect(seen?.headers.cookie).toBe('a=1; b=2');
  });

  it('splits, keeps sticky clients and counts pools over h2 exactly as over HTTP/1.1', async () => {
    const [stable, canary] = [await h.upstream('stable'), await h.upstream('canary')];
    const web = service('web', [stable.address], [canary.address], { weight: 50, sticky: { cookie: 'veer-web' } });
    const v = await h.veer({ services: [web], tls: { certificates: [pair] } });
    const port = v.tlsPort as number;
    const first = await Promise.all(
      Array.from({ length: 30 }, (_, i) => http2({ port, name: 'a.test', ca: ca.caPem, path: `/s${i}` })),
    );
    expect(new Set(first.map((r) => r.text))).toEqual(new Set(['stable', 'canary']));
    const minted = first[0] as (typeof first)[number];
    const cookie = String(minted.headers['set-cookie']).split(';')[0] as string;
    expect(String(minted.headers['set-cookie'])).toMatch(/; Secure$/);
    for (let i = 0; i < 5; i++)
      expect((await http2({ port, name: 'a.test', ca: ca.caPem, headers: { cookie } })).text).toBe(minted.text);
    const metrics = await (await fetch(`${v.adminUrl}/metrics`)).text();
    const count = (pool: string): number =>
      Number(new RegExp(`veer_requests_total\\{service="web",pool="${pool}"\\} (\\d+)`).exec(metrics)?.[1] ?? NaN);
    expect(count('stable') + count('canary')).toBe(35);
    expect([count('stable'), count('canary')]).toEqual([stable.hits, canary.hits]);
  });

  it('answers curl over --http2 and --http1.1', async () => {
    const { port } = await veerWith({ hsts: 'max-age=60' });
    const base = ['--resolve', `a.test:${port}:127.0.0.1`, `https://a.test:${port}/c`];
    const h2 = await curl(['--http2', '-i', ...base]);
    expect(h2).toMatch(/^HTTP\/2 200/);
    expect(h2).toMatch(/strict-transport-security: max-age=60/);
    expect(h2).toMatch(/stable$/);
    expect(await curl(['--http1.1', '-i', ...base])).toMatch(/^HTTP\/1.1 200/);
    // Plain HTTP on the TLS port is told to use https (400, as nginx and Caddy), never served.
    const plain = await curl(['-sS', '-w', ' %{http_code}', `http://127.0.0.1:${port}/`]);
    expect(plain).toMatch(/"code":"tls_required".*use https:\/\/.* 400$/);
  });

  it('keeps WebSocket upgrades working over TLS (HTTP/1.1 on the TLS port), said https upstream', async () => {
    let proto: unknown;
    const echo = await h.server(
      (_req, res) => res.end('plain'),
      (req, socket) => {
        proto = req.headers['x-forwarded-proto'];
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
        socket.pipe(socket);
      },
    );
    const v = await h.veer({ services: [service('ws', [echo.address])], tls: { certificates: [pair] } });
    const s = tlsConnect({
      host: '127.0.0.1',
      port: v.tlsPort as number,
      servername: 'a.test',
      ca: ca.caPem,
      ALPNProtocols: ['http/1.1'],
    });
    h.defer(() => s.destroy());
    let got = '';
    s.on('data', (c: Buffer) => (got += c.toString()));
    s.on('secureConnect', () =>
      s.write(
        'GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
          'Sec-WebSocket-Version: 13\r\n\r\n',
      ),
    );
    await waitFor(() => got.includes('\r\n\r\n'), { what: 'the 101', timeoutMs: 5_000 });
    expect(got).toMatch(/^HTTP\/1.1 101/);
    s.write('ping over tls');
    await waitFor(() => got.endsWith('ping over tls'), { what: 'the echo', timeoutMs: 5_000 });
    expect(proto).toBe('https');
  });

  it('serves a client that offers only http/1.0 by ALPN (curl --http1.0)', async () => {
    const { port } = await veerWith();
    const out = await curl(['--http1.0', '--resolve', `a.test:${port}:127.0.0.1`, `https://a.test:${port}/old`]);
    expect(out).toBe('stable');
  });

  it('refuses 400 an h2 request whose Host names another host than :authority; the same name passes', async () => {
    const { up, port } = await veerWith();
    const session = connectH2(port);
    const ask = (headers: Record<string, string>): Promise<string> =>
      new Promise((resolve) => {
        const st = session.request({ ':path': '/who', ...headers });
        st.on('response', (hd) => resolve(`${hd[':status']}${hd['x-request-id'] === undefined ? '' : ' with id'}`));
        st.resume();
        st.end();
      });
    expect(await ask({ ':authority': 'a.test', host: 'internal.test' })).toBe('400 with id');
    expect(up.hits).toBe(0);
    expect(await ask({ ':authority': 'a.test', host: 'A.TEST' })).toBe('200 with id');
    expect(await ask({ ':authority': 'a.test:443', host: 'a.test' })).toBe('200 with id');
  });

  it("strips an upstream's HTTP2-Settings field: an h2 client gets the answer", async () => {
    const raw = await h.server((_req, res) => res.writeHead(200, { 'http2-settings': 'AAMAAABkAAQAAP__' }).end('ok'));
    const v = await h.veer({ services: [service('web', [raw.address])], tls: { certificates: [pair] } });
    const two = await http2({ port: v.tlsPort as number, name: 'a.test', ca: ca.caPem, path: '/' });
    expect([two.status, two.text]).toEqual([200, 'ok']);
    const one = await http(`${v.url}/`);
    expect(one.headers['http2-settings']).toBeUndefined();
  });

  it('advertises and enforces maxConcurrentStreams and maxHeaderListSize', async () => {
    const { port } = await veerWith({ http2Limits: { maxConcurrentStreams: 3, maxHeaderListSize: '4kb' } }, 300);
    const session = connectH2(port);
    await new Promise((r) => session.once('remoteSettings', r));
    expect(session.remoteSettings.maxConcurrentStreams).toBe(3);
    expect(session.remoteSettings.maxHeaderListSize).toBe(4096);
    const big = session.request({ ':path': '/big', 'x-big': 'x'.repeat(6000) });
    const bigOutcome = await new Promise<string>((resolve) => {
      big.on('response', (hd) => resolve(`status ${hd[':status']}`));
      big.on('error', () => resolve(`reset ${big.rstCode}`));
      big.on('close', () => resolve(`reset ${big.rstCode}`));
    });
    expect(bigOutcome).not.toBe('status 200');
    // Four at once against a limit of three: the client holds the fourth back; all four are answered in turn.
    const statuses = await Promise.all(
      [1, 2, 3, 4].map(
        (i) =>
          new Promise<number>((resolve) => {
            const s = session.request({ ':path': `/slow${i}` });
            s.on('response', (hd) => resolve(Number(hd[':status'])));
            s.on('error', () => resolve(0));
            s.resume();
          }),
      ),
    );
    expect(statuses).toEqual([200, 200, 200, 200]);
  });

  it('closes the connection of a client that resets streams in a loop (rapid reset)', async () => {
    const { v, port, logged } = await veerWith({ http2Limits: { streamResetBurst: 20, streamResetRate: 5 } }, 50);
    const session = connectH2(port);
    await new Promise((r) => session.once('remoteSettings', r));
    expect(v.plane.tls?.http2Sessions).toBe(1);
    // Bounded: 300 streams opened and cancelled at once, far beyond a burst of 20 at 5 per second.
    for (let i = 0; i < 300 && !session.destroyed; i++) {
      const s = session.request({ ':path': `/r${i}` });
      s.on('error', () => {});
      s.close(constants.NGHTTP2_CANCEL);
      if (i % 10 === 9) await new Promise((r) => setImmediate(r)); // let the frames go out
    }
    await waitFor(() => logged.includes('HTTP/2 client reset streams too fast: connection closed'), {
      what: 'the flood noticed',
      timeoutMs: 5_000,
    });
    await waitFor(() => v.plane.tls?.http2Sessions === 0, { what: 'the session closed', timeoutMs: 5_000 });
    // Other clients are served as before.
    expect((await http2({ port, name: 'a.test', ca: ca.caPem })).status).toBe(200);
    session.destroy();
    // Every cancelled stream's upstream request was stopped or finished: nothing holds the shutdown.
    await v.close();
  });
});
