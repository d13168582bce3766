// What veer changes and keeps while forwarding: hop-by-hop headers, X-Forwarded-*, Via and loop
// detection, methods and status codes without bodies, query strings.
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { errorCode, hasStackTrace, http, rawRequest, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

async function oneUpstream(proxy?: Record<string, unknown>) {
  const up = await h.upstream('app');
  const v = await h.veer({ services: [service('web', [up.address])], ...(proxy ? { proxy } : {}) });
  return { v, up };
}

describe('hop-by-hop headers', () => {
  it('are stripped from the request, including names listed in Connection', async () => {
    const { v, up } = await oneUpstream();
    const r = await http(`${v.url}/hop`, {
      headers: {
        connection: 'x-secret, close',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'h2c',
        'proxy-connection': 'keep-alive',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'x-secret': 'hidden',
        'x-kept': 'yes',
      },
    });
    expect(r.status).toBe(200);
    const seen = up.requests[0]?.headers ?? {};
    expect(seen['x-kept']).toBe('yes');
    expect(seen['x-secret']).toBeUndefined();
    expect(seen['keep-alive']).toBeUndefined();
    expect(seen.te).toBeUndefined();
    expect(seen.upgrade).toBeUndefined();
    expect(seen['proxy-connection']).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    // The upstream connection's own Connection header (undici's) may be there, never the client's.
    expect(String(seen.connection ?? '')).not.toMatch(/x-secret|close/);
  });

  it("drops veer's dashboard session cookie (a browser sends it to every port of a host), keeps the rest", async () => {
    const { v, up } = await oneUpstream();
    const r = await http(`${v.url}/cookie`, { headers: { cookie: 'a=1; veer_session=s3cr3t; b=2' } });
    expect(r.status).toBe(200);
    expect(up.requests[0]?.headers.cookie).toBe('a=1; b=2');
    await http(`${v.url}/cookie`, { headers: { cookie: 'veer_session=s3cr3t' } });
    expect(up.requests[1]?.headers.cookie).toBeUndefined();
  });

  it('are stripped from the response, including names listed in Connection', async () => {
    const { v, up } = await oneUpstream();
    up.behave({
      handler: (_req, res) => {
        res.setHeader('connection', 'x-resp-secret');
        res.setHeader('keep-alive', 'timeout=5');
        res.setHeader('proxy-connection', 'keep-alive');
        res.setHeader('upgrade', 'foo/1');
        res.setHeader('x-resp-secret', '1');
        res.setHeader('x-resp-kept', 'yes');
        res.end('body');
      },
    });
    const r = await http(`${v.url}/`);
    expect(r.status).toBe(200);
    expect(r.text).toBe('body');
    expect(r.headers['x-resp-kept']).toBe('yes');
    expect(r.headers['x-resp-secret']).toBeUndefined();
    expect(r.headers['proxy-connection']).toBeUndefined();
    expect(r.headers.upgrade).toBeUndefined();
    expect(r.headers['keep-alive']).not.toBe('timeout=5');
    expect(String(r.headers.connection ?? '')).not.toContain('x-resp-secret');
  });
});

describe('X-Forwarded-* and Via', () => {
  const spoofed = {
    host: 'app.test',
    'x-forwarded-for': '203.0.113.9',
    'x-forwarded-proto': 'https',
    'x-forwarded-host': 'evil.test',
    forwarded: 'for=203.0.113.9',
  };

  it('replaces client-sent X-Forwarded-* when the peer is not trusted', async () => {
    const { v, up } = await oneUpstream();
    expect((await http(`${v.url}/`, { headers: spoofed })).status).toBe(200);
    const seen = up.requests[0]?.headers ?? {};
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe('app.test');
    expect(seen.forwarded).toBeUndefined();
    expect(seen.host).toBe('app.test');
  });

  it('appends to them when the peer is a trusted proxy', async () => {
    const { v, up } = await oneUpstream({ trustedProxies: ['127.0.0.1'] });
    expect((await http(`${v.url}/`, { headers: spoofed })).status).toBe(200);
    const seen = up.requests[0]?.headers ?? {};
    expect(seen['x-forwarded-for']).toBe('203.0.113.9, 127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('https');
    expect(seen['x-forwarded-host']).toBe('evil.test');
    expect(seen.forwarded).toBe('for=203.0.113.9');
  });

  it('sets X-Forwarded-* on a plain request and adds Via both ways', async () => {
    const { v, up } = await oneUpstream();
    const r = await http(`${v.url}/`, { headers: { host: 'plain.test', via: '1.0 edge' } });
    expect(r.status).toBe(200);
    expect(r.headers.via).toBe('1.1 veer');
    const seen = up.requests[0]?.headers ?? {};
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe('plain.test');
    expect(seen.via).toBe('1.0 edge, 1.1 veer');
  });

  it('sets X-Forwarded-Host for a client that sends no Connection header (curl-like)', async () => {
    const { v, up } = await oneUpstream();
    const r = await rawRequest(v.port, 'GET /x HTTP/1.1\r\nHost: curl.test\r\nUser-Agent: curl/8\r\n\r\n');
    expect(r.status).toBe(200);
    const seen = up.requests[0]?.headers ?? {};
    expect(seen['x-forwarded-host']).toBe('curl.test');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.via).toBe('1.1 veer');
  });

  it('answers 508 loop_detected to a request that already went through veer', async () => {
    const { v, up } = await oneUpstream();
    for (const via of ['1.1 veer', '1.0 edge, 1.1 veer']) {
      const r = await http(`${v.url}/`, { headers: { via } });
      expect(r.status).toBe(508);
      expect(errorCode(r)).toBe('loop_detected');
      expect(hasStackTrace(r.text)).toBe(false);
    }
    // "veer" as a comment or inside another name is not a loop.
    expect((await http(`${v.url}/`, { headers: { via: '1.1 veerish (veer)' } })).status).toBe(200);
    expect(up.hits).toBe(1);
  });
});

describe('methods, statuses, query strings', () => {
  it('keeps the query string byte for byte', async () => {
    const { v, up } = await oneUpstream();
    const path = '/search?q=a%20b&x=1&x=2&empty=&utf=%C3%A9#';
    expect((await http(`${v.url}${path}`)).status).toBe(200);
    expect(up.requests[0]?.url).toBe('/search?q=a%20b&x=1&x=2&empty=&utf=%C3%A9');
  });

  it('answers HEAD with the upstream headers and no body', async () => {
    const { v, up } = await oneUpstream();
    up.behave({
      handler: (req, res) => {
        res.writeHead(200, { 'content-length': '1234', 'x-method': req.method ?? '' });
        res.end(req.method === 'HEAD' ? undefined : 'x'.repeat(1234));
      },
    });
    const r = await http(`${v.url}/file`, { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.headers['content-length']).toBe('1234');
    expect(r.headers['x-method']).toBe('HEAD');
    expect(r.body.length).toBe(0);
    // The connection is still usable afterwards: a GET gets the full body.
    const g = await http(`${v.url}/file`);
    expect(g.body.length).toBe(1234);
  });

  it('passes 204 and 304 without a body', async () => {
    const { v, up } = await oneUpstream();
    up.behave({
      handler: (req, res) => {
        if (req.url === '/nothing') return void res.writeHead(204, { 'x-kind': 'empty' }).end();
        if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304, { etag: '"v1"' }).end();
        res.writeHead(200, { etag: '"v1"' }).end('fresh');
      },
    });
    const none = await http(`${v.url}/nothing`, { method: 'DELETE' });
    expect(none.status).toBe(204);
    expect(none.headers['x-kind']).toBe('empty');
    expect(none.body.length).toBe(0);
    const fresh = await http(`${v.url}/doc`);
    expect(fresh.status).toBe(200);
    expect(fresh.text).toBe('fresh');
    const cached = await http(`${v.url}/doc`, { headers: { 'if-none-match': '"v1"' } });
    expect(cached.status).toBe(304);
    expect(cached.headers.etag).toBe('"v1"');
    expect(cached.body.length).toBe(0);
    expect(up.hits).toBe(3);
  });

  it('forwards a body the client sends after 100 Continue', async () => {
    const { v, up } = await oneUpstream();
    const result = await new Promise<{ status: number; continued: boolean; body: string }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(
        `${v.url}/upload`,
        {
          method: 'POST',
          agent: false,
          headers: { expect: '100-continue', 'content-type': 'text/plain', 'content-length': '11' },
        },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, body }));
        },
      );
      const timer = setTimeout(() => req.destroy(new Error('no answer')), 5_000);
      req.on('continue', () => {
        continued = true;
        req.end('hello world');
      });
      req.on('error', reject);
      req.on('close', () => clearTimeout(timer));
      req.flushHeaders();
    });
    expect(result).toEqual({ status: 200, continued: true, body: 'app' });
    expect(up.requests[0]?.body).toBe('hello world');
    expect(up.requests[0]?.headers.expect).toBeUndefined();
  });

  it('passes upstream error statuses and bodies through unchanged', async () => {
    const { v, up } = await oneUpstream();
    up.behave({ status: 503, body: 'upstream says busy' });
    const r = await http(`${v.url}/`);
    expect(r.status).toBe(503);
    expect(r.text).toBe('upstream says busy');
    expect(r.headers['x-upstream']).toBe('app');
  });
});
