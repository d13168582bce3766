// Auth over real HTTP: headers as a client sends them, on a socket bound to loopback.
import type { FastifyInstance } from 'fastify';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { silentLogger } from '../../src/domain/log.js';
import { FakeDirectory, fakeDeps, fakeService } from '../unit/api/fake-directory.js';

const TOKEN = 'integration-token-0123456789';
let app: FastifyInstance;
let base: string;
const directory = new FakeDirectory([fakeService('web', { weight: 5 })]);

beforeAll(async () => {
  app = buildApp(fakeDeps(directory, { token: TOKEN }), { logger: silentLogger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  base = `http://127.0.0.1:${addr.port}`;
});

afterAll(async () => {
  await app.close();
});

async function call(method: 'GET' | 'POST', path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await request(base + path, { method, headers, body, headersTimeout: 5000, bodyTimeout: 5000 });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

describe('admin API auth over HTTP', () => {
  it('refuses a request without Authorization', async () => {
    const r = await call('GET', '/v1/services');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="veer"');
    expect(JSON.parse(r.text)).toEqual({ error: { code: 'unauthorized', message: 'missing or invalid bearer token' } });
  });

  it('refuses wrong tokens of any length', async () => {
    for (const t of ['x', TOKEN.slice(0, -1), `${TOKEN}0`, 'a'.repeat(4096)]) {
      expect((await call('GET', '/v1/services', { authorization: `Bearer ${t}` })).status).toBe(401);
    }
  });

  it('serves the right token', async () => {
    const r = await call('GET', '/v1/services/web', { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toMatchObject({ name: 'web', weight: 5 });
  });

  it('lets probes through without a token', async () => {
    expect((await call('GET', '/healthz')).status).toBe(200);
    expect((await call('GET', '/readyz')).status).toBe(200);
  });

  it('checks the token before reading a shift body, then validates it', async () => {
    const body = JSON.stringify({ weight: 30 });
    const json = { 'content-type': 'application/json' };
    expect((await call('POST', '/v1/services/web/shift', json, body)).status).toBe(401);
    expect(directory.shifts).toEqual([]);
    const bad = await call('POST', '/v1/services/web/shift', { ...json, authorization: `Bearer ${TOKEN}` }, '{oops');
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text)).toMatchObject({ error: { code: 'invalid_json' } });
    const good = await call('POST', '/v1/services/web/shift', { ...json, authorization: `Bearer ${TOKEN}` }, body);
    expect(good.status).toBe(200);
    expect(directory.shifts).toEqual([{ name: 'web', bp: 3000 }]);
  });
});
