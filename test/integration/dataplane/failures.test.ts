// Upstream and client failures: refused connections and the one retry, timeouts, truncated
// responses, clients that leave, oversized and too-slow request headers. After each, veer must
// still serve and hold no request or upstream slot.
import { createConnection } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parseTarget } from '../../../src/domain/target.js';
import { describe, expect, it, vi } from 'vitest';
import { DiscardedAnswer, KEPT_BYTES } from '../../../src/dataplane/discarded-answer.js';
import {
  admin,
  deadPort,
  errorCode,
  hasStackTrace,
  http,
  rawExchange,
  type HttpResult,
  rawRequest,
  service,
  useHarness,
  waitFor,
  type TestVeer,
} from '../../helpers/veer.js';

const h = useHarness();

function addressOf(s: string) {
  const r = parseTarget(s);
  if (!r.ok) throw new Error(r.message);
  return r.target;
}

/** Always the first target when both are eligible (the balancer's tie goes to its first draw). */
const firstPick = (): number => 0;

async function expectIdle(v: TestVeer): Promise<void> {
  await waitFor(() => v.plane.inFlight === 0, 'no request in flight', 3_000);
  await waitFor(
    () => v.plane.targets('web', 'stable').every((t) => t.outstanding === 0),
    'no upstream request outstanding',
    3_000,
  );
}

/** One sample's value in a Prometheus scrape (labels in the order veer writes them). */
function promSample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const series = `${name}{${Object.entries(labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',')}} `;
  const line = text.split('\n').find((l) => l.startsWith(series));
  return line === undefined ? undefined : Number(line.slice(series.length));
}

async function expectServing(v: TestVeer, upstreamName: string): Promise<void> {
  const r = await http(`${v.url}/still-there`);
  expect(r.status).toBe(200);
  expect(r.headers['x-upstream']).toBe(upstreamName);
}

describe('unreachable upstreams', () => {
  it('answers 502 upstream_unreachable JSON when the only target refuses connections', async () => {
    const v = await h.veer({ services: [service('web', [`127.0.0.1:${await deadPort()}`])] });
    const r = await http(`${v.url}/`);
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.text)).toEqual({
      error: { code: 'upstream_unreachable', message: expect.any(String), requestId: expect.any(String) },
    });
    expect(hasStackTrace(r.text)).toBe(false);
    await expectIdle(v);
  });

  it('retries an idempotent request without a body once on the other target', async () => {
    const live = await h.upstream('live');
    const dead = `127.0.0.1:${await deadPort()}`;
    const v = await h.veer({
      services: [service('web', [dead, live.address], [], { outlier: { consecutiveErrors: 1000 } })],
      random: firstPick,
    });
    const methods = ['GET', 'GET', 'HEAD', 'DELETE', 'OPTIONS', 'GET', 'PUT', 'GET'];
    for (const method of methods) expect((await http(`${v.url}/r`, { method })).status).toBe(200);
    expect(live.hits).toBe(methods.length);
    // Every request went to the dead target first: each failure is counted, each retry succeeded.
    const status = await admin<{ metrics: { stable: { requests: number; errors: number } } }>(
      v,
      'GET',
      '/v1/services/web',
    );
    expect(status.json.metrics.stable.errors).toBe(methods.length);
    await expectIdle(v);
  });

  it('does not retry a request with a body (POST or PUT)', async () => {
    const live = await h.upstream('live');
    const dead = `127.0.0.1:${await deadPort()}`;
    const v = await h.veer({
      services: [service('web', [dead, live.address], [], { outlier: { consecutiveErrors: 1000 } })],
      random: firstPick,
    });
    for (const method of ['POST', 'PUT', 'POST']) {
      const r = await http(`${v.url}/w`, {
        method,
        body: '{"order":1}',
        headers: { 'content-type': 'application/json' },
      });
      expect(r.status).toBe(502);
      expect(errorCode(r)).toBe('upstream_unreachable');
    }
    expect(live.hits).toBe(0);
    // A POST without a body is still not idempotent.
    expect((await http(`${v.url}/w`, { method: 'POST' })).status).toBe(502);
    expect(live.hits).toBe(0);
    await expectIdle(v);
  });
});

describe('empty and failing pools', () => {
  it('answers 503 no_targets when the service has no target at all (waitForTarget 0: at once)', async () => {
    const v = await h.veer({ services: [service('web', [], [], { timeouts: { waitForTarget: 0 } })] });
    const r = await http(`${v.url}/`);
    expect(r.status).toBe(503);
    expect(errorCode(r)).toBe('no_targets');
    expect(hasStackTrace(r.text)).toBe(false);
  });

  it('retries a failed canary request on stable when rollout.retryCanaryOnStable is set', async () => {
    const stable = await h.upstream('stable');
    const deadCanary = `127.0.0.1:${await deadPort()}`;
    const v = await h.veer({
      services: [
        service('web', [stable.address], [deadCanary], { weight: 100, rollout: { retryCanaryOnStable: true } }),
      ],
    });
    for (let i = 0; i < 3; i++) expect((await http(`${v.url}/`)).headers['x-upstream']).toBe('stable');
    expect(stable.hits).toBe(3);
    // The canary's failures still count against it: that is what the analysis must see.
    const status = await admin<{ metrics: { canary: { errors: number }; stable: { errors: number } } }>(
      v,
      'GET',
      '/v1/services/web',
    );
    expect(status.json.metrics.canary.errors).toBe(3);
    expect(status.json.metrics.stable.errors).toBe(0);
    // Without a retry, a POST to the dead canary fails.
    expect((await http(`${v.url}/`, { method: 'POST', body: 'x' })).status).toBe(502);
  });

  it('retries on stable a GET the canary answered 5xx, still counting it (retryCanaryOnStable)', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary', { status: 503, body: 'canary broke' });
    const v = await h.veer({
      services: [
        service('web', [stable.address], [canary.address], { weight: 100, rollout: { retryCanaryOnStable: true } }),
      ],
    });
    for (let i = 0; i < 4; i++) {
      const r = await http(`${v.url}/`);
      expect(r.status).toBe(200);
      expect(r.text).toBe('stable');
    }
    expect(canary.hits).toBe(4);
    expect(stable.hits).toBe(4);
    const status = await admin<{
      metrics: { canary: { errors: number; requests: number }; stable: { errors: number } };
    }>(v, 'GET', '/v1/services/web');
    expect(status.json.metrics.canary).toMatchObject({ errors: 4, requests: 4 });
    expect(status.json.metrics.stable.errors).toBe(0);
    // A POST is not replayed: the client sees the canary's own 503.
    const post = await http(`${v.url}/`, { method: 'POST', body: 'x' });
    expect(post.status).toBe(503);
    expect(post.text).toBe('canary broke');
  });

  it("answers a request that asked for the canary (override header) with the canary's own 5xx", async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary', { status: 503, body: 'canary broke' });
    const v = await h.veer({
      services: [
        service('web', [stable.address], [canary.address], { weight: 0, rollout: { retryCanaryOnStable: true } }),
      ],
      proxy: { overrideHeader: 'x-veer-pool' },
    });
    // A smoke test of a broken canary must fail: stable's 200 would pass it.
    const smoke = await http(`${v.url}/`, { headers: { 'x-veer-pool': 'canary' } });
    expect([smoke.status, smoke.text]).toEqual([503, 'canary broke']);
    expect([canary.hits, stable.hits]).toEqual([1, 0]);
  });

  /**
   * A GET the canary holds until `fail()` answers it 503 (retryCanaryOnStable on). waitForTarget 0: a retry
   * refused by a released target's closed pool would be answered 503 at once, not saved by a wait.
   */
  async function canaryHolding() {
    const stable = await h.upstream('stable');
    const held: ServerResponse[] = [];
    const canary = await h.upstream('canary', { handler: (_req, res) => void held.push(res) });
    const v = await h.veer({
      services: [
        service('web', [stable.address], [canary.address], {
          weight: 100,
          rollout: { retryCanaryOnStable: true },
          timeouts: { waitForTarget: 0 },
        }),
      ],
    });
    const pending = http(`${v.url}/`);
    await waitFor(() => held.length === 1, 'the canary to hold the request', 3_000);
    const fail = (): Promise<HttpResult> => {
      held[0]?.writeHead(503).end('canary broke');
      return pending;
    };
    /** The 503's head and half its body, read by veer (swallowed, to ask stable instead); then the rest. */
    const failSlowly = async (): Promise<() => Promise<HttpResult>> => {
      const kept = vi.spyOn(DiscardedAnswer.prototype, 'keep');
      h.defer(() => kept.mockRestore());
      held[0]?.writeHead(503, { 'content-length': '12' }).write('canary');
      await waitFor(() => kept.mock.calls.length > 0, 'veer to swallow the head and the first bytes', 3_000);
      return () => {
        held[0]?.end(' broke');
        return pending;
      };
    };
    return { stable, canary, v, fail, failSlowly, held, pending };
  }

  it("sends the swallowed answer after all when a promotion comes while its body does: it is stable's", async () => {
    const { stable, canary, v, failSlowly } = await canaryHolding();
    const rest = await failSlowly();
    expect(v.plane.update('web', { stable: [addressOf(canary.address)], canary: [], weightBp: 0 })).toBe(true);
    const r = await rest();
    expect([r.status, r.text]).toEqual([503, 'canary broke']);
    expect(stable.hits).toBe(0);
  });

  it('sends the swallowed answer after all when the service leaves routing while its body comes', async () => {
    const { stable, v, failSlowly } = await canaryHolding();
    const rest = await failSlowly();
    v.plane.configure([]);
    const r = await rest();
    expect([r.status, r.text]).toEqual([503, 'canary broke']);
    expect(stable.hits).toBe(0);
  });

  it('asks the stable of now when stable is replaced while the swallowed body comes', async () => {
    const { stable, v, failSlowly } = await canaryHolding();
    const fresh = await h.upstream('fresh');
    const rest = await failSlowly();
    expect(v.plane.update('web', { stable: [addressOf(fresh.address)] })).toBe(true);
    const r = await rest();
    expect([r.status, r.text]).toEqual([200, 'fresh']);
    expect(stable.hits).toBe(0);
  });

  it('asks the stable of now, not one released while the canary held the request', async () => {
    const { stable, v, fail } = await canaryHolding();
    const fresh = await h.upstream('fresh');
    // Stable's target is replaced mid-request: the old one is released and its connection pool closes.
    expect(v.plane.update('web', { stable: [addressOf(fresh.address)] })).toBe(true);
    const r = await fail();
    expect([r.status, r.text]).toEqual([200, 'fresh']);
    expect(stable.hits).toBe(0);
  });

  it('passes on the answer of a canary promoted while it held the request: it is stable now', async () => {
    const { stable, canary, v, fail } = await canaryHolding();
    expect(v.plane.update('web', { stable: [addressOf(canary.address)], canary: [], weightBp: 0 })).toBe(true);
    const r = await fail();
    expect([r.status, r.text]).toEqual([503, 'canary broke']);
    expect(stable.hits).toBe(0);
  });

  it("passes on the canary's answer when its service left routing meanwhile: nowhere to ask again", async () => {
    const { stable, v, fail } = await canaryHolding();
    v.plane.configure([]); // every target of the service released: their pools close
    const r = await fail();
    expect([r.status, r.text]).toEqual([503, 'canary broke']);
    expect(stable.hits).toBe(0);
    await waitFor(() => v.plane.inFlight === 0 && v.plane.waiting === 0, 'nothing in flight or waiting', 3_000);
  });

  it("asks stable at once when a canary's swallowed error page outgrows what veer keeps (an endless one)", async () => {
    const stable = await h.upstream('stable');
    let closed = false;
    const canary = await h.upstream('canary', {
      handler: (_req, res) => {
        res.writeHead(503, { 'content-type': 'text/html' });
        const chunk = Buffer.alloc(16 * 1024, 'x');
        const pace = setInterval(() => res.write(chunk), 5); // until veer lets go (longer than the test's bound)
        const bound = setTimeout(() => res.end(), 60_000);
        res.on('close', () => {
          closed = true;
          clearInterval(pace);
          clearTimeout(bound);
        });
      },
    });
    const v = await h.veer({
      services: [
        service('web', [stable.address], [canary.address], { weight: 100, rollout: { retryCanaryOnStable: true } }),
      ],
    });
    const r = await http(`${v.url}/`);
    expect([r.status, r.text]).toEqual([200, 'stable']);
    await waitFor(() => closed, "veer to let go of the canary's answer", 3_000);
    const status = await admin<{
      metrics: { canary: { errors: number; requests: number }; stable: { errors: number; requests: number } };
    }>(v, 'GET', '/v1/services/web');
    expect(status.json.metrics.canary).toMatchObject({ errors: 1, requests: 1 });
    expect(status.json.metrics.stable).toMatchObject({ errors: 0, requests: 1 });
  });

  it('answers 502 at once when a swallowed page outgrew the cap and there is no stable left to ask', async () => {
    const { stable, v, held, pending } = await canaryHolding();
    const kept = vi.spyOn(DiscardedAnswer.prototype, 'keep');
    h.defer(() => kept.mockRestore());
    const res = held[0] as ServerResponse;
    let closed = false;
    res.once('close', () => (closed = true));
    res.writeHead(503).write('canary');
    await waitFor(() => kept.mock.calls.length > 0, 'veer to swallow the head and the first bytes', 3_000);
    v.plane.configure([]); // nowhere to ask again; the page never ends
    res.write(Buffer.alloc(KEPT_BYTES, 'x'));
    const r = await pending;
    expect([r.status, errorCode(r)]).toEqual([502, 'bad_gateway']);
    expect(stable.hits).toBe(0);
    await waitFor(() => closed, "veer to let go of the canary's answer", 3_000);
  });

  it('retries a connect failure on a target of the pool of now, not one released meanwhile', async () => {
    const holding: Array<() => void> = [];
    const first = await h.server((req) => void holding.push(() => req.socket.destroy()));
    const [second, fresh] = [await h.upstream('second'), await h.upstream('fresh')];
    const v = await h.veer({
      services: [service('web', [first.address, second.address], [], { timeouts: { waitForTarget: 0 } })],
      random: firstPick,
    });
    const pending = http(`${v.url}/`);
    await waitFor(() => holding.length === 1, 'the first target to hold the request', 3_000);
    expect(v.plane.update('web', { stable: [addressOf(first.address), addressOf(fresh.address)] })).toBe(true);
    holding[0]?.(); // the connection breaks before an answer: a connect failure, retried once
    const r = await pending;
    expect([r.status, r.text]).toEqual([200, 'fresh']);
    expect(second.hits).toBe(0);
  });
});

describe('slow and broken upstreams', () => {
  it('answers 504 upstream_timeout when the upstream is slower than timeouts.header', async () => {
    const up = await h.upstream('slow', { delayMs: 3_000 });
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { timeouts: { header: '300ms' } } });
    const started = Date.now();
    const r = await http(`${v.url}/`);
    const elapsed = Date.now() - started;
    expect(r.status).toBe(504);
    expect(errorCode(r)).toBe('upstream_timeout');
    expect(hasStackTrace(r.text)).toBe(false);
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    up.behave({ delayMs: 0 });
    await expectServing(v, 'slow');
    await expectIdle(v);
  });

  it('truncates the client response when the upstream dies mid-body (fixed length and chunked)', async () => {
    let mode: 'fixed' | 'chunked' | 'ok' = 'fixed';
    const up = await h.server((_req: IncomingMessage, res: ServerResponse) => {
      if (mode === 'ok') return void res.writeHead(200, { 'x-upstream': 'dying' }).end('fine');
      res.writeHead(200, mode === 'fixed' ? { 'content-length': '100000' } : {});
      res.write('x'.repeat(1000));
      setTimeout(() => res.socket?.destroy(), 30);
    });
    const v = await h.veer({ services: [service('web', [up.address])] });
    for (const m of ['fixed', 'chunked'] as const) {
      mode = m;
      const started = Date.now();
      const r = await http(`${v.url}/`, { timeoutMs: 5_000 });
      expect(r.status).toBe(200);
      expect(r.complete).toBe(false);
      expect(r.body.length).toBe(1000);
      expect(Date.now() - started).toBeLessThan(3_000);
    }
    // The connection was fine and the upstream answered: a break after that is an error of its own
    // kind, never counted as a connect failure.
    const scrape = (await http(`${v.adminUrl}/metrics`)).text;
    const errors = (kind: string): number | undefined =>
      promSample(scrape, 'veer_request_errors_total', { service: 'web', pool: 'stable', kind });
    expect({ broken: errors('broken'), connect: errors('connect'), timeout: errors('timeout') }).toEqual({
      broken: 2,
      connect: 0,
      timeout: 0,
    });
    mode = 'ok';
    await expectServing(v, 'dying');
    await expectIdle(v);
  });
});

describe('stalled upstreams', () => {
  it('cuts an answer whose upstream stalls mid-body past timeouts.body, counted as a timeout', async () => {
    let stall = true;
    const held: ServerResponse[] = [];
    const up = await h.server((_req: IncomingMessage, res: ServerResponse) => {
      if (!stall) return void res.writeHead(200, { 'x-upstream': 'stalling' }).end('fine');
      res.writeHead(200, { 'content-length': '100000' });
      res.write('x'.repeat(1000));
      held.push(res); // never ended: the upstream goes quiet after its first chunk
    });
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { timeouts: { body: '300ms' } } });
    const started = Date.now();
    const r = await http(`${v.url}/`, { timeoutMs: 5_000 });
    const elapsed = Date.now() - started;
    expect(r.status).toBe(200);
    expect(r.complete).toBe(false);
    expect(r.body.length).toBe(1000);
    // The bound, checked by a 50 ms sweep: not before it, and long before the client's own 5 s.
    expect(elapsed).toBeGreaterThanOrEqual(250);
    expect(elapsed).toBeLessThan(2_000);
    const scrape = (await http(`${v.adminUrl}/metrics`)).text;
    expect(promSample(scrape, 'veer_request_errors_total', { service: 'web', pool: 'stable', kind: 'timeout' })).toBe(
      1,
    );
    held.forEach((res) => res.destroy());
    stall = false;
    await expectServing(v, 'stalling');
    await expectIdle(v);
  });

  it('holds a response that keeps moving, however long it takes in all', async () => {
    const up = await h.server((_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(200, { 'content-length': String(8 * 100) });
      let sent = 0;
      // Eight chunks 100 ms apart: 800 ms in all, more than the 300 ms bound, never 300 ms quiet.
      const tick = setInterval(() => {
        res.write('y'.repeat(100));
        if (++sent === 8) {
          clearInterval(tick);
          res.end();
        }
      }, 100);
      res.on('close', () => clearInterval(tick));
    });
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { timeouts: { body: '300ms' } } });
    const r = await http(`${v.url}/`, { timeoutMs: 5_000 });
    expect(r.status).toBe(200);
    expect(r.complete).toBe(true);
    expect(r.body.length).toBe(800);
    await expectIdle(v);
  });
});

describe('clients that leave', () => {
  it('releases everything when the client disconnects in the middle of the request body', async () => {
    const seen = { started: 0, aborted: 0, bytes: 0 };
    const up = await h.server((req, res) => {
      if (req.method === 'GET') return void res.writeHead(200, { 'x-upstream': 'sink' }).end('ok');
      seen.started++;
      req.on('data', (c: Buffer) => (seen.bytes += c.length));
      req.on('close', () => {
        if (!req.complete) seen.aborted++;
      });
      req.on('end', () => res.end('complete?'));
    });
    const v = await h.veer({ services: [service('web', [up.address])] });
    const sock = createConnection({ host: '127.0.0.1', port: v.port });
    sock.on('error', () => undefined);
    sock.write(`POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n`);
    sock.write(Buffer.alloc(256 * 1024, 1));
    await waitFor(() => seen.bytes > 0, 'the upstream to receive part of the body', 3_000);
    expect(v.plane.inFlight).toBe(1);
    sock.destroy();
    await expectIdle(v);
    await waitFor(() => seen.aborted === 1, 'the upstream request to be aborted', 3_000);
    expect(seen.started).toBe(1);
    expect(seen.bytes).toBeLessThan(10_000_000);
    await expectServing(v, 'sink');
  });

  it('releases everything when the client disconnects in the middle of the response', async () => {
    const seen = { closedEarly: 0 };
    const up = await h.server((req, res) => {
      if (req.url === '/still-there') return void res.writeHead(200, { 'x-upstream': 'source' }).end('ok');
      res.writeHead(200);
      // Writes forever (bounded at 10 s) until the proxy goes away.
      const timer = setInterval(() => res.write('y'.repeat(1024)), 5);
      const stop = setTimeout(() => res.end(), 10_000);
      res.on('close', () => {
        clearInterval(timer);
        clearTimeout(stop);
        if (!res.writableFinished) seen.closedEarly++;
      });
    });
    const v = await h.veer({ services: [service('web', [up.address])] });
    const sock = createConnection({ host: '127.0.0.1', port: v.port });
    sock.on('error', () => undefined);
    let got = 0;
    sock.on('data', (c: Buffer) => (got += c.length));
    sock.write('GET /stream HTTP/1.1\r\nHost: t\r\n\r\n');
    await waitFor(() => got > 4096, 'part of the response', 3_000);
    expect(v.plane.targets('web', 'stable')[0]?.outstanding).toBe(1);
    sock.destroy();
    await expectIdle(v);
    await waitFor(() => seen.closedEarly === 1, 'the upstream response to be cut', 3_000);
    await expectServing(v, 'source');
  });
});

describe('bad client requests', () => {
  it('answers 431 JSON to request headers beyond proxy.maxHeaderSize', async () => {
    const up = await h.upstream('app');
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { maxHeaderSize: 4096 } });
    const r = await rawExchange(v.port, `GET / HTTP/1.1\r\nHost: t\r\nX-Big: ${'b'.repeat(8000)}\r\n\r\n`);
    expect(r.data).toMatch(/^HTTP\/1\.1 431 /);
    const body = r.data.slice(r.data.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body)).toEqual({ error: { code: 'headers_too_large', message: expect.any(String) } });
    expect(hasStackTrace(r.data)).toBe(false);
    expect(r.closedByPeer).toBe(true);
    expect(up.hits).toBe(0);
    // Just under the limit is fine.
    expect((await http(`${v.url}/`, { headers: { 'x-big': 'b'.repeat(3000) } })).status).toBe(200);
  });

  it('answers 400 to a request undici cannot forward, without blaming the target', async () => {
    const a = await h.upstream('a');
    const b = await h.upstream('b');
    const v = await h.veer({
      services: [service('web', [a.address, b.address], [], { outlier: { consecutiveErrors: 2, ejectFor: '1m' } })],
      random: firstPick,
    });
    for (let i = 0; i < 4; i++) {
      const r = await rawRequest(v.port, 'GET / HTTP/1.1\r\nHost: one.test\r\nHost: two.test\r\n\r\n');
      expect(r.status).toBe(400);
      expect(JSON.parse(r.body)).toEqual({
        error: { code: 'bad_host', message: expect.any(String), requestId: expect.any(String) },
      });
      expect(hasStackTrace(r.body)).toBe(false);
    }
    expect(a.hits + b.hits).toBe(0);
    expect(v.plane.targets('web', 'stable').some((t) => t.ejected)).toBe(false);
    const status = await admin<{ metrics: { stable: { errors: number } } }>(v, 'GET', '/v1/services/web');
    expect(status.json.metrics.stable.errors).toBe(0);
    await expectIdle(v);
    await expectServing(v, 'a');
  });

  it('closes a connection whose headers arrive slower than timeouts.clientHeader, with 408', async () => {
    const up = await h.upstream('app');
    const v = await h.veer({
      services: [service('web', [up.address])],
      proxy: { timeouts: { clientHeader: '400ms' } },
    });
    const started = Date.now();
    const sock = createConnection({ host: '127.0.0.1', port: v.port });
    const chunks: Buffer[] = [];
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', () => undefined);
    const closed = new Promise<number>((r) => sock.on('close', () => r(Date.now() - started)));
    // Bounds the wait if veer never closes the connection (the test then fails on the elapsed time).
    const guard = setTimeout(() => sock.destroy(), 6_000);
    sock.write('GET / HTTP/1.1\r\nHost: t\r\n');
    // One header line every 100 ms: always busy, never finished (bounded at 50 lines = 5 s).
    let n = 0;
    const drip = setInterval(() => {
      if (sock.destroyed || ++n > 50) return void clearInterval(drip);
      sock.write(`X-Drip-${n}: ${n}\r\n`);
    }, 100);
    h.defer(() => {
      clearTimeout(guard);
      clearInterval(drip);
      sock.destroy();
    });
    const elapsed = await closed;
    clearInterval(drip);
    const text = Buffer.concat(chunks).toString('latin1');
    expect(elapsed).toBeLessThan(3_000);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(text).toContain('"code":"request_timeout"');
    expect(up.hits).toBe(0);
    await expectServing(v, 'app');
  });
});
