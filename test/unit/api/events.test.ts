import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../../src/api/app.js';
import { silentLogger } from '../../../src/domain/log.js';
import { EventLog } from '../../../src/rollout/events.js';
import { FakeDirectory, fakeDeps, fakeService, fixedClock } from './fake-directory.js';

const apps: FastifyInstance[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

function setup() {
  const directory = new FakeDirectory([fakeService('web'), fakeService('api')]);
  const events = new EventLog({ clock: fixedClock });
  for (let i = 0; i < 150; i++) {
    events.append({
      service: i % 3 === 0 ? 'api' : 'web',
      rolloutId: 'r-1',
      kind: 'analysis',
      phase: 'progressing',
      weight: 5,
      message: `m${i}`,
    });
  }
  const app = buildApp(fakeDeps(directory, { events }), { logger: silentLogger });
  apps.push(app);
  return { app, events };
}

interface Page {
  events: Array<{ seq: number; service: string; message: string }>;
}

describe('GET /v1/services/:name/events', () => {
  it('returns the last 100 events of that service, newest last', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/v1/services/web/events' });
    expect(res.statusCode).toBe(200);
    const body = res.json() as Page;
    expect(body.events).toHaveLength(100);
    expect(body.events.every((e) => e.service === 'web')).toBe(true);
    expect(body.events.at(-1)?.message).toBe('m149');
    const seqs = body.events.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('honours ?limit', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/v1/services/api/events?limit=2' });
    expect((res.json() as Page).events.map((e) => e.message)).toEqual(['m144', 'm147']);
  });

  it('rejects a bad limit naming the parameter', async () => {
    const { app } = setup();
    for (const limit of ['0', 'abc', '1001', '-1', '2.5']) {
      const res = await app.inject({ method: 'GET', url: `/v1/services/web/events?limit=${limit}` });
      expect(res.statusCode, limit).toBe(400);
      expect(res.json()).toMatchObject({ error: { problems: [{ path: 'limit' }] } });
    }
  });

  it('answers 404 for an unknown service, streaming or not', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/v1/services/nope/events' });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ error: { code: 'not_found', message: "service 'nope' not found" } });
    const sse = await app.inject({
      method: 'GET',
      url: '/v1/services/nope/events',
      headers: { accept: 'text/event-stream' },
    });
    expect(sse.statusCode).toBe(404);
  });
});

describe('GET /v1/events', () => {
  it('answers JSON when the client asks for JSON only', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/v1/events?limit=3', headers: { accept: 'application/json' } });
    expect(res.statusCode).toBe(200);
    expect((res.json() as Page).events.map((e) => e.seq)).toEqual([148, 149, 150]);
  });

  it('rejects a bad replay count or Last-Event-ID before streaming', async () => {
    const { app } = setup();
    const r1 = await app.inject({ method: 'GET', url: '/v1/events?replay=x' });
    expect(r1.statusCode).toBe(400);
    expect(r1.json()).toMatchObject({ error: { problems: [{ path: 'replay' }] } });
    const r2 = await app.inject({ method: 'GET', url: '/v1/events', headers: { 'last-event-id': 'abc' } });
    expect(r2.statusCode).toBe(400);
    expect(r2.json()).toMatchObject({ error: { problems: [{ path: 'Last-Event-ID' }] } });
  });

  it("checks the other form's parameter too: a page's replay, a stream's limit", async () => {
    const { app } = setup();
    const json = { accept: 'application/json' };
    const page = await app.inject({ method: 'GET', url: '/v1/services/web/events?replay=abc', headers: json });
    expect([page.statusCode, page.json()]).toMatchObject([400, { error: { problems: [{ path: 'replay' }] } }]);
    const stream = await app.inject({ method: 'GET', url: '/v1/events?limit=abc' });
    expect([stream.statusCode, stream.json()]).toMatchObject([400, { error: { problems: [{ path: 'limit' }] } }]);
    const ok = await app.inject({ method: 'GET', url: '/v1/events?limit=3&_=1', headers: json });
    expect(ok.statusCode).toBe(200);
  });

  it('names where a bad resume id came from: the Last-Event-ID header or the lastEventId parameter', async () => {
    const { app } = setup();
    const message = 'expected an event id as the stream sent it (<epoch>-<seq>) or a sequence number';
    const byQuery = await app.inject({ method: 'GET', url: '/v1/events?lastEventId=abc' });
    expect([byQuery.statusCode, byQuery.json()]).toMatchObject([
      400,
      { error: { problems: [{ path: 'lastEventId', message }] } },
    ]);
    const byHeader = await app.inject({ method: 'GET', url: '/v1/events', headers: { 'last-event-id': '12-x' } });
    expect(byHeader.json()).toMatchObject({ error: { problems: [{ path: 'Last-Event-ID', message }] } });
  });

  it('checks lastEventId on the JSON page too (a bad or repeated one is a 400; a good one is taken)', async () => {
    const { app } = setup();
    const json = { accept: 'application/json' };
    for (const url of [
      '/v1/events?lastEventId=abc',
      '/v1/events?lastEventId=1&lastEventId=2',
      '/v1/services/web/events?lastEventId=abc',
    ]) {
      const res = await app.inject({ method: 'GET', url, headers: json });
      expect([res.statusCode, res.json()], url).toMatchObject([
        400,
        { error: { problems: [{ path: 'lastEventId' }] } },
      ]);
    }
    for (const url of ['/v1/events?lastEventId=12', '/v1/services/web/events?lastEventId=0a1b2c3d4e5f-7']) {
      const res = await app.inject({ method: 'GET', url, headers: json });
      expect(res.statusCode, url).toBe(200);
    }
  });

  it('answers 404 for a service filter naming an unknown service', async () => {
    const { app } = setup();
    const res = await app.inject({ method: 'GET', url: '/v1/events?service=nope' });
    expect(res.statusCode).toBe(404);
  });
});
