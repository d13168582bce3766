// WebhookNotifier against a real HTTP server on 127.0.0.1:0 whose answers each test scripts.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { WebhookConfig } from '../../../src/config/schema.js';
import type { RolloutEvent } from '../../../src/domain/rollout.js';
import { WebhookNotifier, parseRetryAfter } from '../../../src/rollout/webhooks.js';
import { waitFor } from '../../helpers/process.js';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}
type Answer = (req: IncomingMessage, res: ServerResponse, n: number) => void;

const servers: Server[] = [];
const notifiers: WebhookNotifier[] = [];
afterEach(async () => {
  await Promise.all(notifiers.splice(0).map((n) => n.close()));
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
});

async function hookServer(answer: Answer): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      answer(req, res, received.length);
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?secret=s3`, received };
}

const status =
  (code: number): Answer =>
  (_req, res) =>
    res.writeHead(code).end();

function hook(url: string, over: Partial<WebhookConfig> = {}): WebhookConfig {
  return { url, headers: {}, timeout: 2_000, retries: 3, format: 'generic', ...over };
}

function notifier(
  hooks: WebhookConfig[],
  opts: ConstructorParameters<typeof WebhookNotifier>[1] = {},
): WebhookNotifier {
  const n = new WebhookNotifier(hooks, { backoffMs: 10, ...opts });
  notifiers.push(n);
  return n;
}

let seq = 0;
function event(kind: RolloutEvent['kind'], over: Partial<RolloutEvent> = {}): RolloutEvent {
  seq += 1;
  return {
    seq,
    at: '2024-01-01T00:00:00.000Z',
    service: 'web',
    rolloutId: 'r-1',
    kind,
    phase: 'progressing',
    weight: 25,
    message: `${kind} happened`,
    ...over,
  };
}

describe('WebhookNotifier', () => {
  it('POSTs the event as JSON with the hook headers, retrying 5xx until it is accepted', async () => {
    const srv = await hookServer((req, res, n) => status(n <= 2 ? 503 : 204)(req, res, n));
    const n = notifier([hook(srv.url, { headers: { 'x-token': 'abc', 'Content-Type': 'text/plain' } })]);
    const e = event('step', { data: { step: 2 } });
    n.notify(e);
    await waitFor(() => n.delivered === 1, { timeoutMs: 5_000, what: 'delivery' });
    expect(srv.received).toHaveLength(3);
    const first = srv.received[0] as Received;
    expect(first.headers['content-type']).toBe('application/json');
    expect(first.headers['x-token']).toBe('abc');
    expect(JSON.parse(first.body)).toEqual({
      event: 'step',
      service: 'web',
      rolloutId: 'r-1',
      phase: 'progressing',
      weight: 25,
      message: 'step happened',
      at: e.at,
      seq: e.seq,
      data: { step: 2 },
    });
    expect(new Set(srv.received.map((r) => r.body)).size).toBe(1);
    expect(n.failed).toBe(0);
  });

  it('retries 429 and network errors', async () => {
    const srv = await hookServer((req, res, n) => {
      if (n === 1) res.socket?.destroy();
      else if (n === 2) status(429)(req, res, n);
      else status(200)(req, res, n);
    });
    const n = notifier([hook(srv.url)]);
    n.notify(event('started'));
    await waitFor(() => n.delivered === 1, { timeoutMs: 5_000, what: 'delivery' });
    expect(srv.received).toHaveLength(3);
  });

  it('does not retry other 4xx answers', async () => {
    const srv = await hookServer(status(400));
    const n = notifier([hook(srv.url)]);
    n.notify(event('started'));
    await waitFor(() => n.failed === 1, { timeoutMs: 5_000, what: 'failure' });
    // A lane delivers in order: a retry of the first would reach the endpoint before the second.
    n.notify(event('succeeded'));
    await waitFor(() => n.failed === 2, { timeoutMs: 5_000, what: 'the second failure' });
    expect(srv.received.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual(['started', 'succeeded']);
    expect(n.delivered).toBe(0);
  });

  it('does not follow a redirect: a 3xx is rejected, not retried, and the target receives nothing', async () => {
    const target = await hookServer(status(200));
    const targetOrigin = new URL(target.url).origin;
    const srv = await hookServer((_req, res) =>
      res.writeHead(307, { location: `${targetOrigin}/internal?key=SECRET` }).end(),
    );
    const logs: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    const log = {
      log: (level: string, msg: string, fields?: Record<string, unknown>) => logs.push({ level, msg, fields }),
    };
    const n = notifier([hook(srv.url, { headers: { authorization: 'Bearer SECRET' } })], { log });
    n.notify(event('started'));
    await waitFor(() => n.failed === 1, { timeoutMs: 5_000, what: 'rejection' });
    // Nothing more is queued, so close() returning means no retry and no redirected request is under way.
    await n.close();
    expect(srv.received).toHaveLength(1);
    expect(target.received).toHaveLength(0);
    expect(n.delivered).toBe(0);
    const warn = logs.find((l) => l.msg === 'webhook rejected');
    expect(warn?.fields).toMatchObject({ status: 307, location: targetOrigin, url: new URL(srv.url).origin });
    expect(JSON.stringify(logs)).not.toContain('SECRET');
  });

  it('gives up after `retries` retries, warning with the last failure', async () => {
    const srv = await hookServer(status(500));
    const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
    const log = { log: (_level: string, msg: string, fields?: Record<string, unknown>) => logs.push({ msg, fields }) };
    const n = notifier([hook(srv.url, { retries: 2 })], { log });
    n.notify(event('aborted'));
    await waitFor(() => n.failed === 1, { timeoutMs: 5_000, what: 'give-up' });
    expect(srv.received).toHaveLength(3);
    const gaveUp = logs.find((l) => l.msg === 'webhook delivery gave up');
    expect(gaveUp?.fields).toMatchObject({ attempts: 3, error: 'HTTP 500' });
  });

  it('names the network error when it gives up', async () => {
    const logs: { msg: string; fields?: Record<string, unknown> }[] = [];
    const log = { log: (_level: string, msg: string, fields?: Record<string, unknown>) => logs.push({ msg, fields }) };
    // A port that was just free: nothing listens there, so the connection is refused.
    const closed = await hookServer(status(200));
    const s = servers.pop() as Server;
    await new Promise<void>((r) => s.close(() => r()));
    const n = notifier([hook(closed.url, { retries: 0 })], { log });
    n.notify(event('started'));
    await waitFor(() => n.failed === 1, { timeoutMs: 5_000, what: 'give-up' });
    const gaveUp = logs.find((l) => l.msg === 'webhook delivery gave up');
    expect(gaveUp?.fields?.error).toMatch(/ECONNREFUSED/);
  });

  it('bounds each attempt by the hook timeout', async () => {
    const srv = await hookServer(() => undefined);
    const n = notifier([hook(srv.url, { timeout: 100, retries: 1 })]);
    const t0 = Date.now();
    n.notify(event('started'));
    await waitFor(() => n.failed === 1, { timeoutMs: 5_000, what: 'timeouts' });
    expect(srv.received).toHaveLength(2);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('sends the default milestones only, or exactly the kinds a hook lists', async () => {
    const all = await hookServer(status(200));
    const some = await hookServer(status(200));
    const n = notifier([hook(all.url), hook(some.url, { events: ['analysis', 'succeeded'] })]);
    for (const kind of ['started', 'canary-ready', 'analysis', 'step', 'shifted', 'succeeded'] as const)
      n.notify(event(kind));
    await waitFor(() => n.delivered === 5, { timeoutMs: 5_000, what: 'deliveries' });
    expect(all.received.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual([
      'started',
      'step',
      'succeeded',
    ]);
    expect(some.received.map((r) => (JSON.parse(r.body) as { event: string }).event)).toEqual([
      'analysis',
      'succeeded',
    ]);
  });

  it('drops and counts events beyond the queue bound', async () => {
    const pending: ServerResponse[] = [];
    const srv = await hookServer((_req, res) => pending.push(res));
    const n = notifier([hook(srv.url, { retries: 0 })], { maxQueue: 2 });
    for (let i = 0; i < 6; i++) n.notify(event('step'));
    expect(n.dropped).toBe(3);
    await waitFor(() => pending.length === 1, { timeoutMs: 5_000, what: 'first request' });
    (pending.shift() as ServerResponse).writeHead(200).end();
    await waitFor(() => pending.length === 1, { timeoutMs: 5_000, what: 'second request' });
    (pending.shift() as ServerResponse).writeHead(200).end();
    await waitFor(() => pending.length === 1, { timeoutMs: 5_000, what: 'third request' });
    (pending.shift() as ServerResponse).writeHead(200).end();
    await waitFor(() => n.delivered === 3, { timeoutMs: 5_000, what: 'deliveries' });
    expect(srv.received.map((r) => (JSON.parse(r.body) as { seq: number }).seq)).toEqual([seq - 5, seq - 4, seq - 3]);
  });

  it('close() waits for queued deliveries, including their retries', async () => {
    const srv = await hookServer((req, res, n) => status(n === 1 ? 502 : 200)(req, res, n));
    const n = notifier([hook(srv.url)]);
    n.notify(event('started'));
    n.notify(event('succeeded'));
    await n.close();
    expect(n.delivered).toBe(2);
    expect(srv.received).toHaveLength(3);
    n.notify(event('aborted'));
    expect(n.dropped).toBe(1);
  });

  it('close() is bounded when an endpoint never answers', async () => {
    const srv = await hookServer(() => undefined);
    const n = notifier([hook(srv.url, { timeout: 30_000 })], { closeTimeoutMs: 100 });
    n.notify(event('started'));
    n.notify(event('step'));
    await waitFor(() => srv.received.length === 1, { timeoutMs: 5_000, what: 'request' });
    const t0 = Date.now();
    await n.close();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(n.delivered).toBe(0);
    expect(n.failed).toBe(2);
  });

  it('never throws from notify, even when fetch itself throws', async () => {
    const n = notifier([hook('http://127.0.0.1:1/x', { retries: 1 })], {
      fetch: () => {
        throw new Error('sync boom');
      },
    });
    expect(() => n.notify(event('started'))).not.toThrow();
    await waitFor(() => n.failed === 1, { timeoutMs: 5_000, what: 'give-up' });
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });
});
