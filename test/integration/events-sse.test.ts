// The event stream over real HTTP on 127.0.0.1:0: replay, Last-Event-ID, live events, per-service
// filtering, keepalives, auth, and that a departed client leaves no subscriber behind.
import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { createConnection, type AddressInfo, type Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import type { SeriesView } from '../../src/api/ports.js';
import { MAX_BUFFERED_BYTES, SseDecoder, type SseMessage } from '../../src/api/sse.js';
import { silentLogger } from '../../src/domain/log.js';
import type { RolloutEvent } from '../../src/domain/rollout.js';
import { EventLog } from '../../src/rollout/events.js';
import { waitFor, withTimeout } from '../helpers/process.js';
import { FakeDirectory, fakeDeps, fakeService } from '../unit/api/fake-directory.js';

const TOKEN = 'sse-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };
const auth = `authorization: Bearer ${TOKEN}`;

interface Stream {
  status: number;
  headers: IncomingMessage['headers'];
  messages: SseMessage[];
  raw: () => string;
  ended: Promise<void>;
  close(): void;
}

const apps: FastifyInstance[] = [];
const clients: ClientRequest[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy();
  await Promise.all(apps.splice(0).map((a) => withTimeout(a.close(), 5_000, 'app close')));
});

async function setup(opts: { keepaliveMs?: number; events?: number } = {}) {
  const events = new EventLog({ clock: { now: () => Date.parse('2024-01-01T00:00:00Z') } });
  for (let i = 1; i <= (opts.events ?? 30); i++) append(events, i % 2 === 0 ? 'api' : 'web', `m${i}`);
  const directory = new FakeDirectory([fakeService('web'), fakeService('api')]);
  const app = buildApp(fakeDeps(directory, { events, token: TOKEN }), {
    logger: silentLogger,
    sseKeepaliveMs: opts.keepaliveMs,
  });
  apps.push(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, events, port: (app.server.address() as AddressInfo).port };
}

function append(events: EventLog, service: string, message: string, kind: RolloutEvent['kind'] = 'step'): RolloutEvent {
  return events.append({ service, rolloutId: 'r-1', kind, phase: 'progressing', weight: 10, message });
}

function open(port: number, path: string, headers: Record<string, string> = {}): Promise<Stream> {
  return withTimeout(
    new Promise<Stream>((resolve, reject) => {
      const req = httpRequest(
        { host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...AUTH, ...headers } },
        (res) => {
          const decoder = new SseDecoder();
          const messages: SseMessage[] = [];
          let raw = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            raw += chunk;
            messages.push(...decoder.push(chunk));
          });
          const ended = new Promise<void>((r) => {
            res.on('end', () => r());
            res.on('close', () => r());
          });
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            messages,
            raw: () => raw,
            ended,
            close: () => req.destroy(),
          });
        },
      );
      req.on('error', reject);
      clients.push(req);
      req.end();
    }),
    5_000,
    `response of ${path}`,
  );
}

/** An event id is `<epoch>-<seq>`. */
const idOf = (m: SseMessage): { epoch: string; seq: number } => {
  const [epoch = '', seq = ''] = (m.id ?? '').split('-');
  return { epoch, seq: Number(seq) };
};
const seqs = (s: Stream): number[] => s.messages.map((m) => idOf(m).seq);
const bodies = (s: Stream): RolloutEvent[] => s.messages.map((m) => JSON.parse(m.data) as RolloutEvent);

describe('GET /v1/events (server-sent events)', () => {
  it('replays the last 20 events, then streams live ones with id, event and data', async () => {
    const { events, port } = await setup();
    const s = await open(port, '/v1/events');
    expect(s.status).toBe(200);
    expect(s.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    await waitFor(() => s.messages.length === 20, { timeoutMs: 5_000, what: 'replay' });
    expect(seqs(s)).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));
    const live = append(events, 'web', 'live one', 'succeeded');
    await waitFor(() => s.messages.length === 21, { timeoutMs: 5_000, what: 'live event' });
    const last = s.messages[20] as SseMessage;
    const epoch = idOf(last).epoch;
    expect(epoch).toMatch(/^[0-9a-f]{12}$/);
    expect(last).toEqual({ id: `${epoch}-31`, event: 'succeeded', data: JSON.stringify(live) });
    expect(s.raw()).toContain(`id: ${epoch}-31\nevent: succeeded\ndata: ${JSON.stringify(live)}\n\n`);
    expect(new Set(s.messages.map((m) => idOf(m).epoch))).toEqual(new Set([epoch]));
    expect(bodies(s).map((e) => e.seq)).toEqual(seqs(s));
  });

  it('honours ?replay=N, including 0', async () => {
    const { events, port } = await setup();
    const three = await open(port, '/v1/events?replay=3');
    await waitFor(() => three.messages.length === 3, { timeoutMs: 5_000, what: 'replay' });
    expect(seqs(three)).toEqual([28, 29, 30]);
    const none = await open(port, '/v1/events?replay=0');
    await waitFor(() => events.subscriberCount === 2, { timeoutMs: 5_000, what: 'the second subscriber' });
    // The stream is in order: once a live event has arrived, any replayed one would have come first.
    append(events, 'web', 'live after replay=0');
    await waitFor(() => none.messages.length > 0, { timeoutMs: 5_000, what: 'the live event' });
    expect(none.raw()).toContain('retry:');
    expect(seqs(none)).toEqual([31]);
  });

  it('replays only events newer than Last-Event-ID', async () => {
    const { events, port } = await setup();
    const s = await open(port, '/v1/events', { 'last-event-id': '25' });
    await waitFor(() => s.messages.length === 5, { timeoutMs: 5_000, what: 'replay' });
    expect(seqs(s)).toEqual([26, 27, 28, 29, 30]);
    append(events, 'api', 'after');
    await waitFor(() => s.messages.length === 6, { timeoutMs: 5_000, what: 'live event' });
    expect(seqs(s).at(-1)).toBe(31);
  });

  it('replays more than 20 events when the client missed more (Last-Event-ID)', async () => {
    const { port } = await setup();
    const s = await open(port, '/v1/events', { 'last-event-id': '2' });
    await waitFor(() => s.messages.length === 28, { timeoutMs: 5_000, what: 'replay' });
    expect(seqs(s)[0]).toBe(3);
  });

  it('resumes after an id of this log, with its epoch or as a bare seq', async () => {
    const { port } = await setup();
    const first = await open(port, '/v1/events?replay=1');
    await waitFor(() => first.messages.length === 1, { timeoutMs: 5_000, what: 'one event' });
    const epoch = idOf(first.messages[0] as SseMessage).epoch;
    const byHeader = await open(port, '/v1/events', { 'last-event-id': `${epoch}-27` });
    const byQuery = await open(port, `/v1/events?lastEventId=${epoch}-28`);
    await waitFor(() => byHeader.messages.length === 3 && byQuery.messages.length === 2, {
      timeoutMs: 5_000,
      what: 'both replays',
    });
    expect([seqs(byHeader), seqs(byQuery)]).toEqual([
      [28, 29, 30],
      [29, 30],
    ]);
  });

  it('replays everything held for an id of another event log (a restart, another replica)', async () => {
    const before = await setup({ events: 40 });
    const old = await open(before.port, '/v1/events?replay=1');
    await waitFor(() => old.messages.length === 1, { timeoutMs: 5_000, what: 'the last event before' });
    const lastId = (old.messages[0] as SseMessage).id as string;
    expect(idOf(old.messages[0] as SseMessage).seq).toBe(40);
    // The restarted process: a new log, counting from 1 again, with fewer events than the client saw.
    const after = await setup({ events: 5 });
    const resumed = await open(after.port, '/v1/events', { 'last-event-id': lastId });
    await waitFor(() => resumed.messages.length === 5, { timeoutMs: 5_000, what: 'the new log replayed' });
    expect(seqs(resumed)).toEqual([1, 2, 3, 4, 5]);
    // Likewise a bare seq beyond this log's newest (a client of the ids before epochs).
    const bare = await open(after.port, '/v1/events?lastEventId=40');
    await waitFor(() => bare.messages.length === 5, { timeoutMs: 5_000, what: 'the bare seq replay' });
    expect(seqs(bare)).toEqual([1, 2, 3, 4, 5]);
    append(after.events, 'web', 'live');
    await waitFor(() => resumed.messages.length === 6, { timeoutMs: 5_000, what: 'the live event' });
    expect(idOf(resumed.messages[5] as SseMessage).epoch).not.toBe(idOf(old.messages[0] as SseMessage).epoch);
  });

  it('filters by service on /v1/services/:name/events and /v1/events?service=', async () => {
    const { events, port } = await setup();
    const byRoute = await open(port, '/v1/services/web/events?replay=4');
    const byQuery = await open(port, '/v1/events?service=web&replay=4');
    for (const s of [byRoute, byQuery])
      await waitFor(() => s.messages.length === 4, { timeoutMs: 5_000, what: 'replay' });
    append(events, 'api', 'not for web');
    append(events, 'web', 'for web');
    for (const s of [byRoute, byQuery]) {
      await waitFor(() => s.messages.length === 5, { timeoutMs: 5_000, what: 'live event' });
      expect(bodies(s).map((e) => e.message)).toEqual(['m23', 'm25', 'm27', 'm29', 'for web']);
      expect(bodies(s).every((e) => e.service === 'web')).toBe(true);
    }
  });

  it('unsubscribes when the client disconnects, leaving no listener behind', async () => {
    const { events, port } = await setup();
    const streams = await Promise.all([
      open(port, '/v1/events'),
      open(port, '/v1/services/web/events'),
      open(port, '/v1/events?service=api'),
    ]);
    await waitFor(() => events.subscriberCount === 3, { timeoutMs: 5_000, what: 'three subscribers' });
    for (const s of streams) s.close();
    await waitFor(() => events.subscriberCount === 0, { timeoutMs: 5_000, what: 'subscribers gone' });
    expect(() => append(events, 'web', 'nobody listens')).not.toThrow();
  });

  it('sends a keepalive comment on the configured interval', async () => {
    const { port } = await setup({ keepaliveMs: 100 });
    const s = await open(port, '/v1/events?replay=0');
    await waitFor(() => s.raw().split(': keepalive\n\n').length >= 3, { timeoutMs: 5_000, what: 'two keepalives' });
    expect(s.messages).toEqual([]);
  });

  it('requires the bearer token', async () => {
    const { events, port } = await setup();
    const denied = await open(port, '/v1/events', { authorization: 'Bearer wrong' });
    expect(denied.status).toBe(401);
    await withTimeout(denied.ended, 5_000, 'end of the 401');
    expect(JSON.parse(denied.raw())).toEqual({
      error: { code: 'unauthorized', message: 'missing or invalid bearer token' },
    });
    const missing = await open(port, '/v1/services/web/events', { authorization: '' });
    expect(missing.status).toBe(401);
    expect(events.subscriberCount).toBe(0);
  });

  it('ends open streams when the app closes', async () => {
    const { app, events, port } = await setup();
    const s = await open(port, '/v1/events');
    await waitFor(() => events.subscriberCount === 1, { timeoutMs: 5_000, what: 'subscriber' });
    await withTimeout(app.close(), 5_000, 'app close with an open stream');
    await withTimeout(s.ended, 5_000, 'stream end');
    expect(events.subscriberCount).toBe(0);
  });
});

/** A series view with one recorded second for every service (the dashboard's overview frame). */
const oneSecondSeries: SeriesView = {
  source: 'local',
  settleMs: 200,
  newest: () => 1_796_188_848,
  columns: () => null,
  recent: () => {
    const fig = { seconds: 10, rps: 123.4, errorRate: 0.00123, p99Ms: 12.345 };
    return { stable: fig, canary: fig };
  },
  onSecond: () => () => undefined,
};

describe('a first batch larger than the buffer cap', () => {
  it('replays over 1 MiB of events to a client that reads, then goes on live', async () => {
    const { events, port } = await setup({ events: 0 });
    for (let i = 1; i <= 1000; i++) append(events, 'web', `${i} ${'m'.repeat(1200)}`);
    for (const s of [
      await open(port, '/v1/events?replay=1000'),
      await open(port, '/v1/events', { 'last-event-id': '0' }),
    ]) {
      await waitFor(() => s.messages.length === 1000, { timeoutMs: 10_000, what: 'the whole replay' });
      expect(s.raw().length).toBeGreaterThan(MAX_BUFFERED_BYTES);
    }
    append(events, 'web', 'live');
    await waitFor(() => events.subscriberCount === 2, { timeoutMs: 5_000, what: 'both streams still subscribed' });
  });

  it('still cuts a client that stops reading: at most the cap beyond what its first batch left buffered', async () => {
    const { app, events, port } = await setup({ events: 0 });
    for (let i = 1; i <= 1000; i++) append(events, 'web', `${i} ${'m'.repeat(1200)}`);
    let server: Socket | null = null;
    app.server.once('connection', (s: Socket) => (server = s));
    const c = createConnection({ host: '127.0.0.1', port });
    c.pause();
    c.write(`GET /v1/events?replay=1000 HTTP/1.1\r\nhost: localhost\r\naccept: text/event-stream\r\n${auth}\r\n\r\n`);
    try {
      await waitFor(() => events.subscriberCount === 1, { timeoutMs: 5_000, what: 'the stream' });
      const first = (server as Socket | null)?.writableLength ?? 0;
      let most = 0;
      for (let i = 0; i < 500 && events.subscriberCount > 0; i++) {
        append(events, 'web', 'x'.repeat(64 * 1024));
        most = Math.max(most, (server as Socket | null)?.writableLength ?? 0);
        await new Promise<void>((r) => setImmediate(r));
      }
      expect(events.subscriberCount).toBe(0);
      expect(most).toBeLessThanOrEqual(first + MAX_BUFFERED_BYTES + 70 * 1024);
    } finally {
      c.destroy();
    }
  });

  it('sends /v1/series frames over 1 MiB (thousands of services), the first and the live ones', async () => {
    const names = Array.from({ length: 4000 }, (_, i) => `checkout-service-${String(i).padStart(5, '0')}`);
    const directory = new FakeDirectory(names.map((n) => fakeService(n)));
    const ticks: Array<(sec: number) => void> = [];
    const series: SeriesView = { ...oneSecondSeries, onSecond: (fn) => (ticks.push(fn), () => undefined) };
    const app = buildApp(fakeDeps(directory, { token: TOKEN, series }), { logger: silentLogger });
    apps.push(app);
    await app.listen({ host: '127.0.0.1', port: 0 });
    const s = await open((app.server.address() as AddressInfo).port, '/v1/series');
    await waitFor(() => s.messages.length === 1, { timeoutMs: 10_000, what: 'the first frame' });
    // Two seconds recorded: the live frames are as large, each over the cap by itself.
    for (const tick of ticks) tick(1_796_188_849);
    await waitFor(() => s.messages.length === 2, { timeoutMs: 10_000, what: 'the first live frame' });
    for (const tick of ticks) tick(1_796_188_849);
    await waitFor(() => s.messages.length === 3, { timeoutMs: 10_000, what: 'the second live frame' });
    for (const m of s.messages.slice(0, 3)) {
      expect(m.data.length).toBeGreaterThan(MAX_BUFFERED_BYTES);
      expect((JSON.parse(m.data) as { services: unknown[] }).services).toHaveLength(4000);
    }
  });
});

/** Sends `text` on one connection and collects what comes back until `statuses` status lines have. */
async function exchange(port: number, text: string, statuses: number): Promise<string> {
  const c = createConnection({ host: '127.0.0.1', port });
  let got = '';
  c.on('data', (d: Buffer) => (got += d.toString('latin1')));
  c.write(text);
  try {
    await waitFor(() => (got.match(/^HTTP\/1\.1 /gm) ?? []).length >= statuses, {
      timeoutMs: 5_000,
      what: `${statuses} answers on one connection (got ${JSON.stringify(got)})`,
    });
    return got;
  } finally {
    c.destroy();
  }
}

describe('HEAD on the stream routes', () => {
  it("answers with the stream's head and ends, so the connection's next request is answered", async () => {
    const { events, port } = await setup();
    const series = buildApp(
      fakeDeps(new FakeDirectory([fakeService('web')]), { token: TOKEN, series: oneSecondSeries }),
      {
        logger: silentLogger,
      },
    );
    apps.push(series);
    await series.listen({ host: '127.0.0.1', port: 0 });
    const seriesPort = (series.server.address() as AddressInfo).port;
    const head = (path: string, accept: string): string =>
      `HEAD ${path} HTTP/1.1\r\nhost: localhost\r\naccept: ${accept}\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`;
    const next = 'GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n';
    for (const [p, text] of [
      [port, head('/v1/events', '*/*')],
      [port, head('/v1/services/web/events', 'text/event-stream')],
      [seriesPort, head('/v1/series', 'text/event-stream')],
    ] as const) {
      const got = await exchange(p, text + next, 2);
      const [first, second] = got.split(/(?=^HTTP\/1\.1 )/m);
      expect(first, text).toMatch(/^HTTP\/1\.1 200 /);
      expect(first, text).toContain('content-type: text/event-stream; charset=utf-8');
      expect(first, text).not.toContain('retry:');
      expect(second, text).toMatch(/^HTTP\/1\.1 200 /);
    }
    expect(events.subscriberCount).toBe(0);
  });

  it('refuses a bad parameter as GET does', async () => {
    const { port } = await setup();
    const text = `HEAD /v1/events?replay=x HTTP/1.1\r\nhost: localhost\r\nauthorization: Bearer ${TOKEN}\r\n\r\n`;
    expect(await exchange(port, text, 1)).toMatch(/^HTTP\/1\.1 400 /);
  });
});
