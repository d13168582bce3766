// One access line: which requests are written whatever the sample, how the outcome is read (a client
// that left is 499, an answer veer cut is `truncated`), and the fields built from a request's entry.
// Requests and responses are plain objects shaped like Node's (pure logic, no server).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { AccessEntry, type ExchangeFacts } from '../../../src/dataplane/access-entry.js';
import type { CloseParty } from '../../../src/dataplane/ledger.js';
import { accessLine, accessRecord, mustWrite, outcome, sampled } from '../../../src/dataplane/access-line.js';
import type { ServiceRoute } from '../../../src/dataplane/table.js';
import type { Upstream } from '../../../src/dataplane/upstream.js';

describe('the sampling rule', () => {
  const never = (): number => {
    throw new Error('the sample must not be drawn');
  };
  it('writes 5xx, veer answers and clients that left without drawing', () => {
    expect(mustWrite(502, null)).toBe(true);
    expect(mustWrite(404, 'no_route')).toBe(true);
    expect(mustWrite(499, 'client_closed')).toBe(true);
    expect(mustWrite(200, null)).toBe(false);
    expect(sampled(0, 503, null, never)).toBe(true);
    expect(sampled(0, 404, 'no_route', never)).toBe(true);
  });

  it('sample 1 writes all, 0 none of the rest, in between as drawn', () => {
    expect(sampled(1, 200, null, never)).toBe(true);
    expect(sampled(0, 200, null, never)).toBe(false);
    expect(sampled(0.25, 200, null, () => 0.24)).toBe(true);
    expect(sampled(0.25, 200, null, () => 0.25)).toBe(false);
  });
});

interface ResShape {
  writableFinished: boolean;
  headersSent: boolean;
  statusCode: number;
}

function entryOf(res: ResShape, opts: { trusted?: boolean; xff?: string } = {}): AccessEntry {
  const req = {
    method: 'POST',
    url: '/api/x?y=1',
    headers: { host: 'shop.test', ...(opts.xff ? { 'x-forwarded-for': opts.xff } : {}) },
  } as unknown as IncomingMessage;
  return new AccessEntry(
    req,
    res as unknown as ServerResponse,
    Date.UTC(2026, 0, 2, 3, 4, 5, 6),
    'rid-1',
    'x-request-id',
    '10.0.0.9',
    opts.trusted ?? false,
  );
}

function facts(over: Partial<ExchangeFacts> = {}): ExchangeFacts & CloseParty {
  return {
    responseClosed: () => undefined,
    pool: { name: 'canary' },
    target: { address: { id: '127.0.0.1:9001' } } as unknown as Upstream,
    attempt: 1,
    latencyMs: 12.34567,
    gotHeaders: true,
    done: false,
    clientGone: false,
    body: { bytesRead: 42 } as ExchangeFacts['body'],
    down: { written: 1000, lost: -1 },
    ...over,
  };
}

describe('outcome', () => {
  it('a finished answer keeps its status; a veer answer its code', () => {
    const e = entryOf({ writableFinished: true, headersSent: true, statusCode: 200 });
    expect(outcome(e)).toEqual({ status: 200, error: null });
    e.error = 'upstream_timeout';
    expect(outcome(e)).toEqual({ status: 200, error: 'upstream_timeout' });
  });

  it('a client that left before the headers is 499; after them the status stays', () => {
    expect(outcome(entryOf({ writableFinished: false, headersSent: false, statusCode: 200 }))).toEqual({
      status: 499,
      error: 'client_closed',
    });
    expect(outcome(entryOf({ writableFinished: false, headersSent: true, statusCode: 206 }))).toEqual({
      status: 206,
      error: 'client_closed',
    });
  });

  it('an answer veer cut mid-body (the exchange is done, its client is not gone) is truncated', () => {
    const e = entryOf({ writableFinished: false, headersSent: true, statusCode: 200 });
    e.exchange = facts({ done: true });
    expect(outcome(e)).toEqual({ status: 200, error: 'truncated' });
  });
});

describe('accessRecord', () => {
  it('names every field, in order, from the entry and its exchange', () => {
    const e = entryOf(
      { writableFinished: true, headersSent: true, statusCode: 201 },
      { trusted: true, xff: '198.51.100.4, 10.1.1.1' },
    );
    e.route = { name: 'web', rolloutId: 'r7' } as ServiceRoute;
    e.exchange = facts();
    const r = accessRecord(e, e.startHr + 20.5, 201, null);
    expect(r).toEqual({
      kind: 'access',
      time: '2026-01-02T03:04:05.006Z',
      requestId: 'rid-1',
      client: '10.0.0.9',
      forwardedFor: '198.51.100.4',
      method: 'POST',
      host: 'shop.test',
      path: '/api/x?y=1',
      status: 201,
      bytesIn: 42,
      bytesOut: 1000,
      durationMs: 20.5,
      upstreamMs: 12.346,
      service: 'web',
      pool: 'canary',
      target: '127.0.0.1:9001',
      rolloutId: 'r7',
      error: null,
      attempts: 2,
    });
    expect(Object.keys(r)[0]).toBe('kind');
  });

  it('before routing: no service, pool, target or upstream time; an untrusted peer has no forwardedFor', () => {
    const e = entryOf({ writableFinished: true, headersSent: true, statusCode: 404 }, { xff: '1.2.3.4' });
    e.error = 'no_route';
    e.bytesOut = 77;
    expect(accessRecord(e, e.startHr, 404, 'no_route')).toMatchObject({
      forwardedFor: null,
      service: null,
      pool: null,
      target: null,
      rolloutId: null,
      upstreamMs: null,
      bytesIn: 0,
      bytesOut: 77,
      attempts: 0,
      error: 'no_route',
    });
  });
});

describe('accessLine', () => {
  const awkward = [
    '',
    'plain',
    'quote " here',
    'back\\slash',
    'tab\tnl\n',
    '\u0000\u001f\u007f',
    'é ü 漢字',
    '\ud83d\ude00',
    '\ud800 lone',
    "<>&'",
    '\u2028\u2029',
  ];

  it('is exactly JSON.stringify of the record and a newline, whatever the client sent', () => {
    for (const text of awkward) {
      const e = entryOf({ writableFinished: true, headersSent: true, statusCode: 201 }, { trusted: true, xff: text });
      (e.req as { url: string }).url = `/p/${text}`;
      (e.req.headers as Record<string, string>).host = text;
      e.route = { name: `svc${text}`, rolloutId: text === '' ? null : text } as ServiceRoute;
      e.exchange = facts({ latencyMs: text.length / 3, gotHeaders: text.length % 2 === 0 });
      for (const [status, error] of [
        [201, null],
        [499, 'client_closed'],
      ] as const) {
        const end = e.startHr + text.length / 7;
        expect(accessLine(e, end, status, error)).toBe(`${JSON.stringify(accessRecord(e, end, status, error))}\n`);
      }
    }
  });

  it('writes null for what is absent and for numbers JSON cannot hold', () => {
    const e = entryOf({ writableFinished: true, headersSent: true, statusCode: 404 });
    (e.req as { method?: string }).method = undefined;
    e.bytesOut = Number.NaN;
    const line = accessLine(e, Number.POSITIVE_INFINITY, 404, 'no_route');
    expect(line).toBe(`${JSON.stringify(accessRecord(e, Number.POSITIVE_INFINITY, 404, 'no_route'))}\n`);
    expect(JSON.parse(line)).toMatchObject({ method: null, bytesOut: null, durationMs: null, service: null });
  });

  it('writes every duration and time exactly as JSON.stringify would', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
    const e = entryOf({ writableFinished: true, headersSent: true, statusCode: 200 });
    const durations = [0, -0, 0.0004, 0.0005, 0.0015, -0.0005, 1, 10.1, 0.12, 999.9995, 2 ** 40, 2 ** 44, 1e300, -7.25];
    for (let i = 0; i < 3_000; i++) durations.push((next() - 0.2) * 10 ** Math.floor(next() * 9));
    for (const d of durations) {
      e.exchange = facts({ latencyMs: d });
      const line = accessLine(e, e.startHr + d, 200, null);
      expect(line).toBe(`${JSON.stringify(accessRecord(e, e.startHr + d, 200, null))}\n`);
    }
    const instants = [0, 999, 1_000, 1_001, Date.UTC(2026, 11, 31, 23, 59, 59, 999), 1.5, -1, 253_402_300_800_000];
    for (let i = 0; i < 500; i++) instants.push(Math.floor(next() * 4e12));
    for (const at of instants) {
      const x = new AccessEntry(e.req, e.res, at, 'rid', 'x-request-id', '10.0.0.9', false);
      expect(JSON.parse(accessLine(x, x.startHr, 200, null)).time).toBe(new Date(at).toISOString());
    }
  });

  it('gives requests of one millisecond the same time and the next millisecond its own', () => {
    const a = entryOf({ writableFinished: true, headersSent: true, statusCode: 200 });
    const b = new AccessEntry(a.req, a.res, a.startedAt + 1, 'rid-2', 'x-request-id', '10.0.0.9', false);
    const time = (e: AccessEntry): string => JSON.parse(accessLine(e, e.startHr, 200, null)).time;
    expect([time(a), time(a), time(b)]).toEqual([
      '2026-01-02T03:04:05.006Z',
      '2026-01-02T03:04:05.006Z',
      '2026-01-02T03:04:05.007Z',
    ]);
  });
});
