import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { silentLogger } from '../../../src/domain/log.js';
import { FakeDirectory, fakeDeps, fakeService } from './fake-directory.js';

const TOKEN = 'ui-token-0123';
const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function app(token: string, now?: () => number): FastifyInstance {
  const deps = fakeDeps(new FakeDirectory([fakeService('web')]), {
    token,
    ui: { sessionTtlMs: 60_000, secureCookie: 'auto' },
  });
  const a = buildApp(deps, { logger: silentLogger, ...(now ? { now } : {}) });
  apps.push(a);
  return a;
}

const login = (a: FastifyInstance, token: string) =>
  a.inject({
    method: 'POST',
    url: '/ui/login',
    headers: { host: 'localhost', 'content-type': 'application/json' },
    payload: { token },
  });

describe('the dashboard page', () => {
  it('is served without credentials with a strict CSP, nosniff and revalidation', async () => {
    const r = await app(TOKEN).inject({ url: '/ui', headers: { host: 'localhost' } });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['content-security-policy']).toContain("default-src 'none'; script-src 'self'");
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.body).not.toContain('{{v}}');
    expect(r.body).not.toMatch(/<script>|https?:\/\/(?!github)/);
    const v = /uplot\.js\?v=([\w-]+)/.exec(r.body)?.[1];
    expect(v).toBeDefined();
  });

  it('serves uPlot and its own files from the package, 304 on a matching ETag, 404 for anything else', async () => {
    const a = app(TOKEN);
    const js = await a.inject({ url: '/ui/assets/uplot.js', headers: { host: 'localhost' } });
    expect(js.statusCode).toBe(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.body).toContain('uPlot');
    const again = await a.inject({
      url: '/ui/assets/uplot.js',
      headers: { host: 'localhost', 'if-none-match': String(js.headers.etag) },
    });
    expect(again.statusCode).toBe(304);
    for (const f of ['app.js', 'api.js', 'views.js', 'service.js', 'style.css', 'uplot.css'])
      expect((await a.inject({ url: `/ui/assets/${f}`, headers: { host: 'localhost' } })).statusCode).toBe(200);
    const missing = await a.inject({ url: '/ui/assets/..%2fpackage.json', headers: { host: 'localhost' } });
    expect(missing.statusCode).toBe(404);
  });
});

describe('dashboard login', () => {
  it('turns the token into a session cookie whose session expires', async () => {
    let now = 1_000_000;
    const a = app(TOKEN, () => now);
    const bad = await login(a, 'nope');
    expect(bad.statusCode).toBe(401);
    expect(bad.json()).toEqual({
      error: { code: 'wrong_token', message: 'wrong admin token: enter the token of admin.token' },
    });
    expect(bad.headers['set-cookie']).toBeUndefined();
    const ok = await login(a, TOKEN);
    expect(ok.statusCode).toBe(200);
    const cookie = String(ok.headers['set-cookie']);
    expect(cookie).toMatch(/^veer_session=[\w-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=60$/);
    const jar = cookie.split(';')[0] as string;
    const session = await a.inject({ url: '/ui/session', headers: { host: 'localhost', cookie: jar } });
    expect(session.json()).toMatchObject({ auth: 'token', loggedIn: true, csrf: ok.json().csrf });
    expect((await a.inject({ url: '/v1/services', headers: { host: 'localhost', cookie: jar } })).statusCode).toBe(200);
    now += 60_000;
    expect((await a.inject({ url: '/v1/services', headers: { host: 'localhost', cookie: jar } })).statusCode).toBe(401);
  });

  it('needs no login without a token', async () => {
    const a = app('');
    expect((await a.inject({ url: '/ui/session', headers: { host: 'localhost' } })).json()).toMatchObject({
      auth: 'none',
      loggedIn: true,
    });
    expect((await login(a, 'x')).statusCode).toBe(409);
  });

  it('logs out only with the CSRF header', async () => {
    const a = app(TOKEN);
    const ok = await login(a, TOKEN);
    const jar = String(ok.headers['set-cookie']).split(';')[0] as string;
    const headers = { host: 'localhost', cookie: jar, 'content-type': 'application/json' };
    expect((await a.inject({ method: 'POST', url: '/ui/logout', headers, payload: {} })).statusCode).toBe(403);
    const out = await a.inject({
      method: 'POST',
      url: '/ui/logout',
      headers: { ...headers, 'x-veer-csrf': ok.json().csrf },
      payload: {},
    });
    expect(out.statusCode).toBe(200);
    expect(String(out.headers['set-cookie'])).toContain('Max-Age=0');
    expect((await a.inject({ url: '/v1/services', headers: { host: 'localhost', cookie: jar } })).statusCode).toBe(401);
  });
});
