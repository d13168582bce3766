import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { bearerMatches, checkAdminExposure, isLoopbackHost } from '../../../src/api/auth.js';
import { ConfigError } from '../../../src/domain/errors.js';
import { silentLogger } from '../../../src/domain/log.js';
import { FakeDirectory, fakeDeps, fakeService } from './fake-directory.js';

const TOKEN = 's3cret-token';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function app(token: string): FastifyInstance {
  const a = buildApp(fakeDeps(new FakeDirectory([fakeService('web')]), { token }), { logger: silentLogger });
  apps.push(a);
  return a;
}

const get = (a: FastifyInstance, url: string, authorization?: string) =>
  a.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });

describe('bearerMatches', () => {
  it('accepts exactly the token, with any case of the scheme', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, TOKEN)).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, TOKEN)).toBe(true);
  });

  it.each([
    undefined,
    '',
    TOKEN,
    `Basic ${TOKEN}`,
    'Bearer ',
    `Bearer ${TOKEN}x`,
    `Bearer ${TOKEN.slice(1)}`,
    `Bearer ${TOKEN} extra`,
  ])('refuses %j', (header) => {
    expect(bearerMatches(header, TOKEN)).toBe(false);
  });
});

describe('admin auth', () => {
  it('without a token every route is open', async () => {
    const a = app('');
    expect((await get(a, '/v1/services')).statusCode).toBe(200);
    expect((await get(a, '/metrics')).statusCode).toBe(200);
  });

  it('with a token, a request without the header is a 401 JSON with a challenge', async () => {
    const res = await get(app(TOKEN), '/v1/services');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json()).toEqual({ error: { code: 'unauthorized', message: 'missing or invalid bearer token' } });
  });

  it('with a token, a wrong token is a 401', async () => {
    const a = app(TOKEN);
    expect((await get(a, '/v1/services', 'Bearer nope')).statusCode).toBe(401);
    expect((await get(a, '/v1/cluster', `Bearer ${TOKEN}-longer`)).statusCode).toBe(401);
  });

  it('with a token, the right token passes', async () => {
    const res = await get(app(TOKEN), '/v1/services/web', `Bearer ${TOKEN}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ name: 'web' });
  });

  it('probes stay open, metrics and shift do not', async () => {
    const a = app(TOKEN);
    expect((await get(a, '/healthz')).statusCode).toBe(200);
    expect((await get(a, '/readyz')).statusCode).toBe(200);
    expect((await get(a, '/metrics')).statusCode).toBe(401);
    const shift = await a.inject({ method: 'POST', url: '/v1/services/web/shift', payload: { weight: 5 } });
    expect(shift.statusCode).toBe(401);
  });

  it('unknown routes are refused before they are looked up', async () => {
    const a = app(TOKEN);
    expect((await get(a, '/v2/secret')).statusCode).toBe(401);
    expect((await get(a, '/v2/secret', `Bearer ${TOKEN}`)).statusCode).toBe(404);
  });

  it('a probe path with a query string or a trailing segment is not a bypass', async () => {
    const a = app(TOKEN);
    expect((await get(a, '/healthz?x=1')).statusCode).toBe(200);
    expect((await get(a, '/healthz/../v1/services')).statusCode).toBe(401);
  });
});

describe('checkAdminExposure', () => {
  it.each(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', 'LocalHost', '::ffff:127.0.0.1'])(
    'allows loopback %s without a token',
    (host) => {
      expect(isLoopbackHost(host)).toBe(true);
      expect(checkAdminExposure(host, '').ok).toBe(true);
    },
  );

  it.each(['0.0.0.0', '', '::', '10.0.0.5', '128.0.0.1', '127.example.com', 'admin.internal'])(
    'refuses %j without a token',
    (host) => {
      const r = checkAdminExposure(host, '');
      expect(r.ok).toBe(false);
      if (r.ok) return;
      expect(r.error).toBeInstanceOf(ConfigError);
      expect(r.error.message).toContain('without a token');
      expect(r.error.problems[0]?.path).toBe('admin.token');
    },
  );

  it('allows any address once a token is set', () => {
    expect(checkAdminExposure('0.0.0.0', TOKEN).ok).toBe(true);
  });
});
