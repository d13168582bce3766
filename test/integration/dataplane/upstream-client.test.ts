// veer's own HTTP/1.1 upstream client (proxy.upstreamClient: lean, the default): what it does that
// undici's pool did (keep-alive reuse, the connection limit, the upstream's Keep-Alive, a graceful
// drain), and what it does where undici failed a good answer (an unsolicited 100, a connection the
// upstream closes after each answer without saying so) or misnamed a broken one. The upstreams here
// are raw `net` servers, so each answer is exactly the bytes under test.
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { http, rawExchange, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

interface RawUpstream {
  address: string;
  /** Connections accepted so far, and open now. */
  readonly accepted: number;
  readonly open: number;
  /** Every request head received, in order. */
  readonly heads: string[];
  /** Bytes received after the heads (the bodies), per connection in accept order. */
  readonly bodies: string[];
}

/** A server that answers each request head it reads with `answer(head, socket, index)`. */
async function rawUpstream(answer: (head: string, s: Socket, n: number) => void): Promise<RawUpstream> {
  const heads: string[] = [];
  const bodies: string[] = [];
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server: Server = createServer((s) => {
    accepted++;
    sockets.add(s);
    const me = bodies.push('') - 1;
    let buf = '';
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0 && /^[A-Z]+ \//.test(buf); end = buf.indexOf('\r\n\r\n')) {
        const head = buf.slice(0, end);
        buf = buf.slice(end + 4);
        heads.push(head);
        answer(head, s, heads.length - 1);
      }
      bodies[me] += buf;
      if (!/^[A-Z]+ \//.test(buf)) buf = '';
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  h.defer(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    get accepted() {
      return accepted;
    },
    get open() {
      return sockets.size;
    },
    heads,
    bodies,
  };
}

const ok = (s: Socket, extra = ''): boolean => s.write(`HTTP/1.1 200 OK\r\ncontent-length: 2\r\n${extra}\r\nok`);

async function veerTo(up: RawUpstream, proxy: Record<string, unknown> = {}): Promise<TestVeer> {
  return h.veer({ services: [service('web', [up.address])], proxy: { upstreamClient: 'lean', ...proxy } });
}

describe("veer's own upstream client", () => {
  it('keeps one upstream connection for requests one after another, and says keep-alive as undici did', async () => {
    const up = await rawUpstream((_head, s) => ok(s));
    const v = await veerTo(up);
    for (let i = 0; i < 20; i++) expect((await http(`${v.url}/n${i}`)).status).toBe(200);
    expect(up.accepted).toBe(1);
    expect(up.heads[0]).toMatch(/^GET \/n0 HTTP\/1\.1\r\n/);
    expect(up.heads[0]).toMatch(/\r\nconnection: keep-alive$/);
    expect(up.heads[0]).toMatch(/\r\nvia: 1\.1 veer\r\n/);
  });

  it('passes over an unsolicited 100 Continue and a 103, and answers with the final response', async () => {
    const up = await rawUpstream((head, s) => {
      const interim = head.includes('/continue') ? '100 Continue' : '103 Early Hints\r\nlink: </a.css>';
      s.write(`HTTP/1.1 ${interim}\r\n\r\n`);
      setImmediate(() => s.write('HTTP/1.1 201 Created\r\ncontent-length: 4\r\n\r\ndone'));
    });
    const v = await veerTo(up);
    for (const path of ['/continue', '/hints']) {
      const r = await http(`${v.url}${path}`);
      expect(r.status).toBe(201);
      expect(r.text).toBe('done');
    }
  });

  it('answers every request when the upstream closes after each answer without saying so', async () => {
    const up = await rawUpstream((_head, s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    const v = await veerTo(up);
    // Pipelined on one client connection: each next request is sent as soon as the answer before it is whole,
    // before the upstream's close has been read.
    const r = await rawExchange(
      v.port,
      'GET /1 HTTP/1.1\r\nHost: a\r\n\r\n'.repeat(4) + 'GET /5 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
    );
    expect(r.data.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(5);
    // A request written as the upstream closed may have reached it (this one reads on after its close): only
    // GETs are sent again, each path at most twice.
    for (const n of [1, 5]) expect(up.heads.filter((x) => x.startsWith(`GET /${n} `)).length).toBeGreaterThanOrEqual(1);
    expect(up.heads.length).toBeLessThanOrEqual(10);
  });

  it('never resends a request that is not safe to repeat', async () => {
    const up = await rawUpstream((_head, s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'));
    const v = await veerTo(up);
    const r = await rawExchange(
      v.port,
      'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nPOST /2 HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
    );
    const statuses = [...r.data.matchAll(/HTTP\/1\.1 (\d+)/g)].map((m) => m[1]);
    expect(statuses[0]).toBe('200');
    // The POST went out on the connection the upstream was closing: answered 502 or 200, but sent once.
    expect(up.heads.filter((x) => x.startsWith('POST')).length).toBeLessThanOrEqual(1);
  });

  it("keeps a connection no longer than the upstream's Keep-Alive timeout (less a second)", async () => {
    const up = await rawUpstream((_head, s) => ok(s, 'keep-alive: timeout=1\r\n'));
    const v = await veerTo(up);
    expect((await http(`${v.url}/a`)).status).toBe(200);
    expect((await http(`${v.url}/b`)).status).toBe(200);
    // timeout=1 leaves 0 s: the connection is never reused.
    expect(up.accepted).toBe(2);
  });

  it('opens at most connectionsPerTarget connections; the requests beyond wait their turn', async () => {
    const pending: Socket[] = [];
    const up = await rawUpstream((_head, s) => pending.push(s));
    const v = await veerTo(up, { connectionsPerTarget: 2 });
    const all = Promise.all(Array.from({ length: 5 }, (_, i) => http(`${v.url}/w${i}`)));
    await waitFor(() => pending.length === 2, 'two requests at the upstream');
    for (let answered = 0; answered < 5; answered++) {
      await waitFor(() => pending.length > 0, 'a request at the upstream');
      ok(pending.shift() as Socket);
    }
    expect((await all).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(up.accepted).toBe(2);
  });

  it('passes every body intact when many answers, small and over one read, arrive in the same turn', async () => {
    // Each request's body is its own letter repeated; the answers are held, then all written at once, so the
    // proxy reads several connections' answers before its writes to the clients go out.
    const held: Array<() => void> = [];
    const sizes = [100, 3_000, 70_000, 150_000];
    const bodyOf = (n: number): Buffer => Buffer.alloc(sizes[n % 4] as number, 97 + (n % 26));
    const up = await rawUpstream((head, s) => {
      const n = Number(/^GET \/b(\d+)/.exec(head)?.[1]);
      const body = bodyOf(n);
      held.push(() =>
        s.write(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\ncontent-length: ${body.length}\r\n\r\n`), body])),
      );
    });
    const v = await veerTo(up);
    const count = 24;
    const all = Promise.all(Array.from({ length: count }, (_, i) => http(`${v.url}/b${i}`)));
    await waitFor(() => held.length === count, 'every request at the upstream');
    for (const send of held.splice(0)) send();
    const answers = await all;
    answers.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.equals(bodyOf(i)), `body of /b${i}`).toBe(true);
    });
  });

  it('gives a 204 its answer when the upstream adds a body it may not send; a new connection after', async () => {
    const up = await rawUpstream((head, s) =>
      head.includes('/empty') ? s.write('HTTP/1.1 204 No Content\r\ncontent-length: 5\r\n\r\nhello') : ok(s),
    );
    const v = await veerTo(up);
    expect((await http(`${v.url}/empty`)).status).toBe(204);
    expect((await http(`${v.url}/next`)).status).toBe(200);
    expect(up.accepted).toBe(2);
  });

  it('answers a HEAD from its head alone and reuses the connection', async () => {
    const up = await rawUpstream((_head, s) => s.write('HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n'));
    const v = await veerTo(up);
    for (let i = 0; i < 3; i++) {
      const r = await http(`${v.url}/h`, { method: 'HEAD' });
      expect(r.status).toBe(200);
      expect(r.headers['content-length']).toBe('1000');
    }
    expect(up.accepted).toBe(1);
  });

  it('says bad_gateway for a malformed answer and for a head over the limit (not upstream_unreachable)', async () => {
    const up = await rawUpstream((head, s) =>
      head.includes('/big')
        ? s.write(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(20_000)}\r\ncontent-length: 2\r\n\r\nok`)
        : s.write('HTTP/1.1 2x0 Nope\r\n\r\n'),
    );
    const v = await veerTo(up);
    for (const path of ['/bad', '/big']) {
      const r = await http(`${v.url}${path}`);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.text).error.code).toBe('bad_gateway');
    }
  });

  it('sends a body without a length chunked and one with a length as it is, both whole', async () => {
    const up = await rawUpstream(() => undefined);
    const v = await veerTo(up);
    const chunked =
      'POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n';
    void rawExchange(v.port, chunked, 2_000);
    await waitFor(() => up.bodies.some((b) => b.endsWith('0\r\n\r\n')), 'the chunked body upstream');
    expect(up.heads.at(-1)).toMatch(/\r\ntransfer-encoding: chunked\r\n/);
    expect(up.bodies.find((b) => b.endsWith('0\r\n\r\n'))).toBe('5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n');
    void rawExchange(v.port, 'PUT /l HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world', 2_000);
    await waitFor(() => up.bodies.includes('hello world'), 'the sized body upstream');
    expect(up.heads.at(-1)).toMatch(/\r\ncontent-length: 11\r\n/i);
  });

  it('does not reuse a connection whose answer came before its body was all sent', async () => {
    const up = await rawUpstream((head, s) =>
      head.startsWith('POST') ? s.write('HTTP/1.1 413 Too Big\r\ncontent-length: 0\r\n\r\n') : ok(s),
    );
    const v = await veerTo(up);
    const r = await rawExchange(v.port, 'POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\nxxxx', 2_000);
    expect(r.data).toMatch(/^HTTP\/1\.1 413 /);
    expect((await http(`${v.url}/after`)).status).toBe(200);
    expect(up.accepted).toBe(2);
  });

  it('on undici (proxy.upstreamClient: undici) the same requests are served', async () => {
    const up = await rawUpstream((_head, s) => ok(s));
    const v = await veerTo(up, { upstreamClient: 'undici' });
    for (let i = 0; i < 3; i++) expect((await http(`${v.url}/u${i}`)).status).toBe(200);
    expect(up.accepted).toBe(1);
  });
});
