import { describe, expect, it } from 'vitest';
import { admit, type Caller } from '../../../src/api/gate.js';
import { cookieValue, csrfMatches, sessionCookie, Sessions } from '../../../src/api/sessions.js';

const TOKEN = 'session-token-0123';

function clock(start = 1_000_000): { now: () => number; advance(ms: number): void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

describe('Sessions', () => {
  it('finds a session until it expires, and never after', () => {
    const c = clock();
    const s = new Sessions({ ttlMs: 60_000, now: c.now });
    const { id, session } = s.open(TOKEN);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(id).not.toContain(TOKEN);
    expect(s.find(id, TOKEN)).toEqual(session);
    c.advance(59_999);
    expect(s.find(id, TOKEN)?.expiresAt).toBe(1_060_000);
    c.advance(1);
    expect(s.find(id, TOKEN)).toBeNull();
    expect(s.size).toBe(0);
  });

  it('ends on logout and when the token changes', () => {
    const s = new Sessions({ ttlMs: 60_000 });
    const a = s.open(TOKEN);
    const b = s.open(TOKEN);
    s.close(a.id);
    expect(s.find(a.id, TOKEN)).toBeNull();
    expect(s.find(b.id, TOKEN)).not.toBeNull();
    expect(s.find(b.id, 'rotated-token')).toBeNull();
    expect(s.find(b.id, TOKEN)).toBeNull();
  });

  it('refuses unknown, empty and oversized ids', () => {
    const s = new Sessions({ ttlMs: 60_000 });
    s.open(TOKEN);
    for (const id of [undefined, '', 'x', 'a'.repeat(10_000)]) expect(s.find(id, TOKEN)).toBeNull();
  });

  it('keeps at most `max` sessions, dropping the oldest', () => {
    const s = new Sessions({ ttlMs: 60_000, max: 3 });
    const ids = [1, 2, 3, 4, 5].map(() => s.open(TOKEN).id);
    expect(s.size).toBe(3);
    expect(ids.map((id) => s.find(id, TOKEN) !== null)).toEqual([false, false, true, true, true]);
  });

  it('gives every session its own CSRF token, matched exactly', () => {
    const s = new Sessions({ ttlMs: 60_000 });
    const a = s.open(TOKEN).session;
    const b = s.open(TOKEN).session;
    expect(a.csrf).not.toBe(b.csrf);
    expect(csrfMatches(a.csrf, a)).toBe(true);
    expect(csrfMatches(b.csrf, a)).toBe(false);
    expect(csrfMatches(undefined, a)).toBe(false);
    expect(csrfMatches('', a)).toBe(false);
    expect(csrfMatches([a.csrf], a)).toBe(true);
  });

  it('refuses a lifetime under a second', () => {
    expect(() => new Sessions({ ttlMs: 10 })).toThrow(/at least 1s/);
  });
});

describe('session cookie', () => {
  it('is HttpOnly and SameSite=Strict, Secure only when asked', () => {
    expect(sessionCookie('abc', 3_600_000, false)).toBe(
      'veer_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=3600',
    );
    expect(sessionCookie('abc', 1_000, true)).toMatch(/; Secure$/);
  });

  it('is read from a Cookie header among others', () => {
    expect(cookieValue('a=1; veer_session=xyz; b=2', 'veer_session')).toBe('xyz');
    expect(cookieValue('veer_sessionx=1', 'veer_session')).toBeUndefined();
    expect(cookieValue(undefined, 'veer_session')).toBeUndefined();
  });
});

describe('the gate with sessions', () => {
  const sessions = new Sessions({ ttlMs: 60_000 });
  const { id, session } = sessions.open(TOKEN);
  const caller = (over: Partial<Caller> = {}): Caller => ({
    route: '/v1/services/:name/shift',
    host: '127.0.0.1:9090',
    authorization: undefined,
    httpVersion: '1.1',
    peer: '127.0.0.1',
    method: 'POST',
    cookie: `veer_session=${id}`,
    csrf: session.csrf,
    ...over,
  });

  it('admits a cookie with its CSRF header, reads without it, and refuses a write without it (403)', () => {
    expect(admit(caller(), TOKEN, sessions)).toBeNull();
    expect(admit(caller({ method: 'GET', csrf: undefined }), TOKEN, sessions)).toBeNull();
    const refused = admit(caller({ csrf: undefined }), TOKEN, sessions);
    expect(refused?.httpStatus).toBe(403);
    expect(refused?.code).toBe('csrf_failed');
    expect(admit(caller({ csrf: 'guess' }), TOKEN, sessions)?.httpStatus).toBe(403);
  });

  it('refuses an unknown cookie with 401, and keeps bearer calls as they were', () => {
    expect(admit(caller({ cookie: 'veer_session=forged' }), TOKEN, sessions)?.httpStatus).toBe(401);
    expect(admit(caller({ cookie: undefined, csrf: undefined }), TOKEN, sessions)?.httpStatus).toBe(401);
    const bearer = caller({ cookie: undefined, csrf: undefined, authorization: `Bearer ${TOKEN}` });
    expect(admit(bearer, TOKEN, sessions)).toBeNull();
  });

  it('refuses a state-changing call from another origin, whatever authenticates it', () => {
    const bearer = { cookie: undefined, csrf: undefined, authorization: `Bearer ${TOKEN}` };
    expect(admit(caller({ origin: 'http://127.0.0.1:9090' }), TOKEN, sessions)).toBeNull();
    expect(admit(caller({ ...bearer, origin: 'https://evil.example' }), TOKEN, sessions)?.code).toBe('csrf_failed');
    expect(admit(caller({ origin: 'null' }), TOKEN, sessions)?.httpStatus).toBe(403);
    // Tokenless: the Host gate passes (loopback), the foreign page is still refused.
    expect(admit(caller({ ...bearer, origin: 'http://evil.example' }), '')?.httpStatus).toBe(403);
    expect(admit(caller({ ...bearer, method: 'GET', origin: 'http://evil.example' }), '')).toBeNull();
  });

  it('lets the page, its assets and its login through without credentials', () => {
    for (const route of ['/ui', '/ui/assets/:file', '/ui/session', '/ui/login'])
      expect(admit(caller({ route, cookie: undefined, csrf: undefined, method: 'GET' }), TOKEN, sessions)).toBeNull();
    expect(
      admit(caller({ route: '/ui/logout', cookie: undefined, csrf: undefined }), TOKEN, sessions)?.httpStatus,
    ).toBe(401);
  });
});
