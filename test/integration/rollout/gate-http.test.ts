// The HTTP gate adapter against a real server on 127.0.0.1:0: what it sends, what counts as a pass,
// and that refusals (statuses, hangs, refused connections, redirects) are retried within their bounds.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { GateConfig } from '../../../src/domain/gate.js';
import { HttpGateCaller } from '../../../src/rollout/gate-http.js';
import type { GateRequest } from '../../../src/rollout/gate-wait.js';
import { deadPort, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();

const REQUEST: GateRequest = {
  service: 'web',
  rolloutId: 'r1',
  gate: 'beforeTraffic',
  strategy: 'canary',
  phase: 'progressing',
  step: 0,
  weight: 0,
  nextWeight: 5,
  canary: { targets: ['127.0.0.1:9101'] },
  stable: { targets: ['127.0.0.1:9001'] },
  refusals: 0,
};

interface Seen {
  method: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A gate server answering the n-th request (1-based) with `answer(n, res)`. */
async function gateServer(answer: (n: number, res: ServerResponse) => void) {
  const seen: Seen[] = [];
  const s = await h.server((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      answer(seen.length, res);
    });
  });
  return { url: `http://${s.address}/gate`, seen };
}

const gate = (url: string, extra: Partial<GateConfig> = {}): GateConfig => ({
  url,
  timeout: 1_000,
  retries: 2,
  headers: {},
  ...extra,
});

const caller = new HttpGateCaller({ replica: 'replica-a', backoffMs: 20 });
const ask = (g: GateConfig) => caller.ask(g, REQUEST, new AbortController().signal);

describe('HttpGateCaller', () => {
  it('POSTs the JSON request with the gate headers and the replica; a 2xx passes at once', async () => {
    const g = await gateServer((_, res) => res.writeHead(204).end());
    const a = await ask(gate(g.url, { headers: { authorization: 'Bearer t0k', 'content-type': 'text/plain' } }));
    expect(a).toEqual({ passed: true, status: 204, error: null, firstLine: '', attempts: 1 });
    expect(g.seen).toHaveLength(1);
    expect(g.seen[0]?.method).toBe('POST');
    expect(JSON.parse(g.seen[0]?.body ?? '')).toEqual(REQUEST);
    expect(g.seen[0]?.headers).toMatchObject({
      authorization: 'Bearer t0k',
      'content-type': 'application/json',
      'x-veer-replica': 'replica-a',
    });
  });

  it('a refusal is retried (retries + 1 attempts); the answer is the last status and first line', async () => {
    const g = await gateServer((n, res) => res.writeHead(503).end(`smoke ${n} failed\nstack line\n`));
    const a = await ask(gate(g.url));
    expect(a).toEqual({ passed: false, status: 503, error: null, firstLine: 'smoke 3 failed', attempts: 3 });
    expect(g.seen).toHaveLength(3);
  });

  it('a refusal and then a pass within the retries is a pass', async () => {
    const g = await gateServer((n, res) => res.writeHead(n === 1 ? 500 : 200).end(n === 1 ? 'not yet' : 'ok'));
    expect(await ask(gate(g.url))).toEqual({ passed: true, status: 200, error: null, firstLine: 'ok', attempts: 2 });
  });

  it('a gate that hangs is a refusal after its timeout, attempt by attempt', async () => {
    const g = await gateServer(() => undefined);
    const started = Date.now();
    const a = await ask(gate(g.url, { timeout: 300, retries: 1 }));
    const took = Date.now() - started;
    expect(a).toEqual({
      passed: false,
      status: null,
      error: 'no answer within 300ms (timeout)',
      firstLine: '',
      attempts: 2,
    });
    expect(g.seen).toHaveLength(2);
    expect(took).toBeGreaterThanOrEqual(600);
    expect(took).toBeLessThan(3_000);
  });

  it('a refused connection names the error; a redirect is not followed; a long first line is bounded', async () => {
    const port = await deadPort();
    const refused = await ask(gate(`http://127.0.0.1:${port}/gate`, { retries: 0 }));
    expect(refused).toMatchObject({ passed: false, status: null, attempts: 1 });
    expect(refused.error).toMatch(/ECONNREFUSED/);

    const moved = await gateServer((_, res) => res.writeHead(302, { location: 'http://127.0.0.1:1/' }).end());
    expect(await ask(gate(moved.url, { retries: 0 }))).toMatchObject({ passed: false, status: 302 });
    expect(moved.seen).toHaveLength(1);

    const chatty = await gateServer((_, res) => res.writeHead(403).end('x'.repeat(100_000)));
    const long = await ask(gate(chatty.url, { retries: 0 }));
    expect(long.status).toBe(403);
    expect(long.firstLine).toBe(`${'x'.repeat(200)}…`);
  });

  it('stops asking at once when its signal aborts', async () => {
    const g = await gateServer(() => undefined);
    const stop = new AbortController();
    const started = Date.now();
    const pending = caller.ask(gate(g.url, { timeout: 10_000, retries: 5 }), REQUEST, stop.signal);
    // Stopped while the gate has the request and has not answered.
    await waitFor(() => g.seen.length === 1, { timeoutMs: 5_000, what: 'the gate asked' });
    stop.abort();
    const a = await pending;
    expect(a).toMatchObject({ passed: false, error: 'asking stopped', attempts: 1 });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});
