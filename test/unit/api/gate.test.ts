import type { FastifyInstance, InjectOptions } from 'fastify';
import { createConnection, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { admit, type Caller } from '../../../src/api/gate.js';
import { isLoopbackHostHeader } from '../../../src/api/host-check.js';
import { ok } from '../../../src/domain/errors.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';
import { silentLogger } from '../../../src/domain/log.js';
import { waitFor } from '../../helpers/process.js';
import { FakeDirectory, fakeDeps, fakeRollout, fakeService } from './fake-directory.js';

const TOKEN = 'gate-token-0123';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function app(token: string): FastifyInstance {
  const a = buildApp(fakeDeps(new FakeDirectory([fakeService('web')]), { token }), { logger: silentLogger });
  apps.push(a);
  return a;
}

const caller = (over: Partial<Caller> = {}): Caller => ({
  route: '/v1/services',
  host: 'localhost:9090',
  authorization: undefined,
  httpVersion: '1.1',
  peer: '127.0.0.1',
  ...over,
});
const LONG = 'a'.repeat(10_000);

describe('isLoopbackHostHeader', () => {
  it.each([
    'localhost',
    'LOCALHOST:9090',
    'localhost.',
    'admin.localhost',
    'a.b.localhost:1',
    '127.0.0.1',
    '127.0.0.1:9090',
    '127.255.1.2:80',
    '[::1]',
    '[::1]:9090',
    '[0:0:0:0:0:0:0:1]:1',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]:9',
  ])('accepts %s', (h) => {
    expect(isLoopbackHostHeader(h)).toBe(true);
  });

  it.each([
    'attacker.example',
    'localhost.attacker.example',
    'localhostx',
    '127.0.0.1.attacker.example',
    '127.1',
    '2130706433',
    '0.0.0.0',
    '10.0.0.1:9090',
    '[::]',
    '[::2]',
    '::1',
    'localhost:99999x',
    'user@localhost',
    'localhost/x',
    '',
    ' ',
  ])('refuses %j', (h) => {
    expect(isLoopbackHostHeader(h)).toBe(false);
  });
});

describe('admit', () => {
  it('with a token: the bearer decides, probes excepted, Host is not looked at', () => {
    expect(admit(caller(), TOKEN)?.httpStatus).toBe(401);
    expect(admit(caller({ authorization: `Bearer ${TOKEN}`, host: 'attacker.example' }), TOKEN)).toBeNull();
    expect(admit(caller({ route: '/healthz', host: 'attacker.example' }), TOKEN)).toBeNull();
    expect(admit(caller({ route: undefined, authorization: 'Bearer nope' }), TOKEN)?.httpStatus).toBe(401);
  });

  it('without a token: loopback Host values only (421 otherwise), probes included', () => {
    expect(admit(caller(), '')).toBeNull();
    for (const route of ['/v1/services', '/healthz', undefined]) {
      const e = admit(caller({ route, host: 'attacker.example' }), '');
      expect(e?.httpStatus).toBe(421);
      expect(e?.code).toBe('misdirected_request');
      expect(e?.message).toContain('set admin.token');
      expect(e?.message).not.toContain('attacker');
    }
  });

  it('a missing Host: 400 for HTTP/1.1; HTTP/1.0 only from a loopback peer when there is no token', () => {
    expect(admit(caller({ host: undefined }), '')?.httpStatus).toBe(400);
    expect(admit(caller({ host: undefined, httpVersion: '1.0' }), '')).toBeNull();
    expect(admit(caller({ host: undefined, httpVersion: '1.0', peer: '::ffff:127.0.0.1' }), '')).toBeNull();
    expect(admit(caller({ host: undefined, httpVersion: '1.0', peer: '10.1.2.3' }), '')?.httpStatus).toBe(421);
    // Authentication comes first.
    expect(admit(caller({ host: undefined }), TOKEN)?.httpStatus).toBe(401);
    expect(admit(caller({ host: undefined, authorization: `Bearer ${TOKEN}` }), TOKEN)?.httpStatus).toBe(400);
  });
});

interface ErrorJson {
  error: { code: string; message: string };
}

describe('with a token, 401 comes before anything else can answer', () => {
  const json = { 'content-type': 'application/json' };
  it.each([
    ['an unknown route', { method: 'GET', url: '/nope' }],
    ['a parameter over the router limit', { method: 'GET', url: `/v1/services/${LONG}` }],
    ['a malformed percent-encoding', { method: 'GET', url: '/v1/services/%zz' }],
    ['invalid JSON', { method: 'POST', url: '/v1/services/web/shift', payload: '{oops', headers: json }],
    [
      'a non-JSON content type',
      { method: 'POST', url: '/v1/services/web/shift', payload: 'a=b', headers: { 'content-type': 'text/html' } },
    ],
    [
      'an oversized body',
      { method: 'POST', url: '/v1/services/web/shift', payload: 'x'.repeat(70_000), headers: json },
    ],
    ['an impossible service name', { method: 'GET', url: '/v1/services/%3Cscript%3E' }],
    ['a HEAD request', { method: 'HEAD', url: '/v1/services' }],
  ] as const)('%s', async (_what, req) => {
    const res = await app(TOKEN).inject(req as InjectOptions);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="veer"');
    if (req.method !== 'HEAD')
      expect(res.json()).toEqual({ error: { code: 'unauthorized', message: 'missing or invalid bearer token' } });
  });
});

describe("after auth, the project's own errors, never the path", () => {
  const auth = { authorization: `Bearer ${TOKEN}` };
  it.each([
    ['GET', `/v1/services/${LONG}`, 414, 'uri_too_long'],
    ['GET', `/${LONG}`, 404, 'not_found'],
    ['GET', '/v1/services/%zz', 400, 'bad_request'],
    ['GET', '/v1/services/%3Cscript%3Ealert(1)%3C%2Fscript%3E', 404, 'not_found'],
    ['POST', `/v1/services/${'b'.repeat(80)}/shift`, 404, 'not_found'],
  ] as const)('%s %s… → %i %s', async (method, url, status, code) => {
    for (const token of [TOKEN, '']) {
      const res = await app(token).inject({ method, url, headers: token ? auth : {} });
      expect(res.statusCode).toBe(status);
      const body = res.json() as ErrorJson;
      expect(body.error.code).toBe(code);
      expect(Object.keys(body)).toEqual(['error']);
      expect(res.body).not.toMatch(/aaaaaaaaaa|bbbbbbbbbb|script|%zz|FST_|statusCode/);
    }
  });

  it('echoes a service name only when it is one a service could have', async () => {
    const a = app(TOKEN);
    const ok = await a.inject({ method: 'GET', url: '/v1/services/nope', headers: auth });
    expect(ok.json()).toEqual({ error: { code: 'not_found', message: "service 'nope' not found" } });
    const odd = await a.inject({ method: 'GET', url: '/v1/services/Nope!', headers: auth });
    expect(odd.json()).toEqual({ error: { code: 'not_found', message: 'no such service' } });
    const events = await a.inject({
      method: 'GET',
      url: '/v1/events?service=%3Cx%3E',
      headers: { ...auth, accept: 'application/json' },
    });
    expect(events.json()).toEqual({ error: { code: 'not_found', message: 'no such service' } });
  });

  it('query values are described, not echoed', async () => {
    const res = await app('').inject({
      method: 'GET',
      url: '/v1/events?limit=%3Cb%3E',
      headers: { accept: 'application/json' },
    });
    expect(res.statusCode).toBe(400);
    expect(res.body).not.toContain('<b>');
  });
});

describe('without a token, a non-loopback Host is 421 on every route', () => {
  it.each([
    ['GET', '/healthz'],
    ['GET', '/v1/services'],
    ['POST', '/v1/services/web/shift'],
    ['GET', '/nowhere'],
    ['GET', `/v1/services/${LONG}`],
    ['GET', '/v1/services/%zz'],
  ] as const)('%s %s', async (method, url) => {
    const a = app('');
    const res = await a.inject({
      method,
      url,
      headers: { host: 'attacker.example', 'content-type': 'application/json' },
      ...(method === 'POST' ? { payload: '{"weight":50}' } : {}),
    });
    expect(res.statusCode).toBe(421);
    expect((res.json() as ErrorJson).error.code).toBe('misdirected_request');
    expect(res.body).not.toContain('attacker');
  });

  it('loopback spellings are served', async () => {
    const a = app('');
    for (const host of ['localhost:9090', '127.0.0.1:9090', '[::1]:9090', 'admin.localhost']) {
      expect((await a.inject({ method: 'GET', url: '/v1/services', headers: { host } })).statusCode).toBe(200);
    }
  });

  it('a rebinding page cannot shift traffic', async () => {
    const directory = new FakeDirectory([fakeService('web')]);
    const a = buildApp(fakeDeps(directory), { logger: silentLogger });
    apps.push(a);
    const res = await a.inject({
      method: 'POST',
      url: '/v1/services/web/shift',
      payload: '{"weight":100}',
      headers: { host: 'attacker.example:9090', 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(421);
    expect(directory.shifts).toEqual([]);
  });
});

describe('shutting down', () => {
  it('a request arriving while the app closes gets our 503 and Connection: close', async () => {
    let started = false;
    let release: () => void = () => undefined;
    const held = new Promise<void>((r) => {
      release = r;
    });
    const rollouts = {
      start: async () => {
        started = true;
        await held;
        return ok(fakeRollout());
      },
      act: async () => ok(fakeRollout()),
      policyOf: () => rolloutPolicySchema.parse({}),
    };
    const a = buildApp(fakeDeps(new FakeDirectory([fakeService('web')]), { rollouts }), { logger: silentLogger });
    await a.listen({ host: '127.0.0.1', port: 0 });
    const sock = createConnection({ host: '127.0.0.1', port: (a.server.address() as AddressInfo).port });
    let data = '';
    sock.on('data', (c: Buffer) => {
      data += c.toString('latin1');
    });
    sock.on('error', () => undefined);
    const body = '{"canary":{"targets":["127.0.0.1:9101"]}}';
    sock.write(
      'POST /v1/services/web/rollouts HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n' +
        `Content-Length: ${body.length}\r\n\r\n${body}`,
    );
    await waitFor(() => started, 'the first request to be in flight');
    const closing = a.close();
    await waitFor(() => !a.server.listening, 'the app to start closing');
    // On the same kept-alive connection, behind the request still in flight.
    sock.write('GET /v1/services HTTP/1.1\r\nHost: localhost\r\n\r\n');
    release();
    await waitFor(() => /HTTP\/1\.1 503 [\s\S]*\r\n\r\n\{.*\}$/.test(data), 'the second answer');
    sock.destroy();
    await closing;
    const second = data.slice(data.indexOf('HTTP/1.1 503 '));
    expect(data).toMatch(/^HTTP\/1\.1 201 /);
    expect(second).toMatch(/\r\nconnection: close\r\n/i);
    expect(JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4))).toEqual({
      error: { code: 'unavailable', message: expect.stringContaining('shutting down') },
    });
  });
});
