// Request ids through a real veer: generated, returned to the client and passed to the upstream (which
// sees exactly one field); a trusted peer's sane id kept, an untrusted or invalid one replaced; in
// veer's own JSON and HTML error bodies; over HTTP/2 with TLS; on a WebSocket upgrade; and off.
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { testCa } from '../../helpers/certs.js';
import { http2 } from '../../helpers/tls-client.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();
const GENERATED = /^[0-9a-z]{10}-[0-9a-z]+$/;

const idFields = (raw: string[]): string[] => raw.filter((v, i) => i % 2 === 0 && v.toLowerCase() === 'x-request-id');

async function veerWith(proxy: Record<string, unknown> = {}) {
  const up = await h.upstream('stable');
  const v = await h.veer({ services: [service('web', [up.address])], proxy });
  return { up, v };
}

describe('request ids', () => {
  it('are generated, returned to the client and passed upstream once', async () => {
    const { up, v } = await veerWith();
    const a = await http(`${v.url}/a`, { headers: { 'x-request-id': 'from-client' } });
    const b = await http(`${v.url}/b`);
    const id = a.headers['x-request-id'] as string;
    expect(a.status).toBe(200);
    expect(id).toMatch(GENERATED);
    expect(b.headers['x-request-id']).toMatch(GENERATED);
    expect(b.headers['x-request-id']).not.toBe(id);
    // The untrusted client's own value was dropped, not forwarded beside veer's.
    expect(up.requests[0]?.headers['x-request-id']).toBe(id);
    expect(idFields(up.requests[0]?.rawHeaders ?? [])).toHaveLength(1);
  });

  it("keep a trusted peer's sane id and replace an invalid one", async () => {
    const { up, v } = await veerWith({ trustedProxies: ['127.0.0.1'] });
    const kept = await http(`${v.url}/`, { headers: { 'x-request-id': 'edge-01:abc' } });
    expect(kept.headers['x-request-id']).toBe('edge-01:abc');
    expect(up.requests[0]?.headers['x-request-id']).toBe('edge-01:abc');
    const bad = await http(`${v.url}/`, { headers: { 'x-request-id': 'has space<>' } });
    expect(bad.headers['x-request-id']).toMatch(GENERATED);
    const long = await http(`${v.url}/`, { headers: { 'x-request-id': 'a'.repeat(129) } });
    expect(long.headers['x-request-id']).toMatch(GENERATED);
    expect(up.requests.map((r) => r.headers['x-request-id'])).toEqual([
      'edge-01:abc',
      bad.headers['x-request-id'],
      long.headers['x-request-id'],
    ]);
  });

  it("are in veer's own answers: header and JSON body (404, 502), built-in HTML page", async () => {
    // Hangs up without an answer (502): no freed port another test could bind meanwhile.
    const broken = await h.server((req) => req.socket.destroy());
    const up = await h.upstream('stable');
    const v = await h.veer({
      services: [
        { ...service('web', [up.address]), match: { hosts: ['web.test'], pathPrefix: '/' } },
        { ...service('down', [broken.address]), match: { hosts: ['down.test'], pathPrefix: '/' } },
      ],
    });
    const none = await http(`${v.url}/`, { headers: { host: 'other.test' } });
    expect(none.status).toBe(404);
    expect(JSON.parse(none.text).error).toMatchObject({ code: 'no_route', requestId: none.headers['x-request-id'] });
    const bad = await http(`${v.url}/`, { headers: { host: 'down.test' } });
    expect(bad.status).toBe(502);
    expect(bad.headers['x-request-id']).toMatch(GENERATED);
    expect(JSON.parse(bad.text).error.requestId).toBe(bad.headers['x-request-id']);
    const page = await http(`${v.url}/`, { headers: { host: 'down.test', accept: 'text/html' } });
    expect(page.status).toBe(502);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.text).toContain(`<code>${page.headers['x-request-id'] as string}</code>`);
    expect(Number(page.headers['content-length'])).toBe(page.body.length);
  });

  it('work over HTTP/2 with TLS', async () => {
    const ca = testCa();
    h.defer(() => ca.remove());
    const up = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [up.address])], tls: { certificates: [ca.issue(['a.test'])] } });
    const r = await http2({ port: v.tlsPort as number, name: 'a.test', ca: ca.caPem, path: '/h2' });
    expect(r.protocol).toBe('h2');
    expect(r.headers['x-request-id']).toMatch(GENERATED);
    expect(up.requests[0]?.headers['x-request-id']).toBe(r.headers['x-request-id']);
  });

  it('reach the upstream of a WebSocket upgrade and come back in the 101', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const s = await h.server(
      (_req, res) => res.end(),
      (req: IncomingMessage, socket: Duplex) => {
        seen.push(req.headers);
        socket.on('error', () => socket.destroy());
        socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      },
    );
    const v = await h.veer({ services: [service('web', [s.address])] });
    const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
      const req = httpRequest(`${v.url}/ws`, {
        agent: false,
        headers: { connection: 'Upgrade', upgrade: 'websocket' },
      });
      const timer = setTimeout(() => req.destroy(new Error('upgrade timed out')), 5_000);
      req.on('upgrade', (res, socket) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(res.headers);
      });
      req.on('error', reject);
      req.end();
    });
    expect(headers['x-request-id']).toMatch(GENERATED);
    expect(seen[0]?.['x-request-id']).toBe(headers['x-request-id']);
  });

  describe.each(['lean', 'node'])('on the %s front, an upstream that sets the id field too', (front) => {
    async function echoing() {
      // One echoes the id it got (Rails, express-request-id do), one sets its own.
      const echo = await h.server((req, res) =>
        res.setHeader('X-Request-Id', String(req.headers['x-request-id'])).end(),
      );
      const own = await h.server((_req, res) => res.setHeader('x-request-id', 'upstream-own').end());
      const v = await h.veer({
        services: [
          { ...service('echo', [echo.address]), match: { hosts: ['echo.test'], pathPrefix: '/' } },
          { ...service('own', [own.address]), match: { hosts: ['own.test'], pathPrefix: '/' } },
        ],
        proxy: { front },
      });
      return v;
    }

    it("HTTP/1.1: the client gets one field, veer's id", async () => {
      const v = await echoing();
      for (const host of ['echo.test', 'own.test']) {
        const r = await http(`${v.url}/`, { headers: { host } });
        expect(idFields(r.rawHeaders), host).toHaveLength(1);
        expect(r.headers['x-request-id'], host).toMatch(GENERATED);
      }
    });

    it("HTTP/2 (h2c): the client gets one field, veer's id", async () => {
      const v = await echoing();
      const session = h2connect(`http://127.0.0.1:${v.port}`);
      h.defer(() => session.destroy());
      for (const authority of ['echo.test', 'own.test']) {
        const headers = await new Promise<IncomingHttpHeaders>((resolve, reject) => {
          const s = session.request({ ':path': '/', ':authority': authority });
          s.on('response', (r) => resolve(r));
          s.on('error', reject);
          s.resume();
        });
        // Node joins repeated fields with ", ": one id alone is one field.
        expect(headers['x-request-id'], authority).toMatch(GENERATED);
      }
    });
  });

  it('can be turned off: nothing added, the client field passed through', async () => {
    const { up, v } = await veerWith({ requestIdHeader: false });
    const r = await http(`${v.url}/`, { headers: { 'x-request-id': 'client-own' } });
    expect(r.headers['x-request-id']).toBeUndefined();
    expect(up.requests[0]?.headers['x-request-id']).toBe('client-own');
  });

  it('another header name works the same', async () => {
    const { up, v } = await veerWith({ requestIdHeader: 'X-Correlation-Id' });
    const r = await http(`${v.url}/`);
    expect(r.headers['x-correlation-id']).toMatch(GENERATED);
    expect(up.requests[0]?.headers['x-correlation-id']).toBe(r.headers['x-correlation-id']);
  });
});
