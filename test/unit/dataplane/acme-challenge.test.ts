// The HTTP-01 responder in front of routing, on a real node:http server: published tokens answered,
// everything else passed on (at once when it cannot be a challenge), a failing or silent store
// answered 503 within its bound rather than left hanging or routed.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AcmeChallenges, type ChallengeLookup } from '../../../src/dataplane/acme-challenge.js';
import { http } from '../../helpers/veer.js';

let server: Server | null = null;
afterEach(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

async function serve(lookup: ChallengeLookup | null): Promise<string> {
  const challenges = new AcmeChallenges();
  challenges.use(lookup);
  const s = createServer((req, res) => challenges.handle(req, res, (r, out) => out.end(`routed ${r.url}`)));
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
}

const known: ChallengeLookup = async (token) => (token === 'abc' ? 'abc.thumb' : null);

describe('AcmeChallenges', () => {
  it('answers a published token and routes the rest', async () => {
    const url = await serve(known);
    const hit = await http(`${url}/.well-known/acme-challenge/abc`, { headers: { host: 'x.example:5002' } });
    expect([hit.status, hit.text, hit.headers['content-type']]).toEqual([200, 'abc.thumb', 'text/plain']);
    expect((await http(`${url}/.well-known/acme-challenge/zzz`)).text).toBe('routed /.well-known/acme-challenge/zzz');
    expect((await http(`${url}/.well-known/acme-challenge/a.b`)).text).toBe('routed /.well-known/acme-challenge/a.b');
    expect((await http(`${url}/.well-known/acme-challenge/abc`, { method: 'POST' })).text).toMatch(/^routed/);
    expect((await http(`${url}/other`)).text).toBe('routed /other');
  });

  it('routes everything while no lookup is set', async () => {
    const url = await serve(null);
    expect((await http(`${url}/.well-known/acme-challenge/abc`)).text).toBe('routed /.well-known/acme-challenge/abc');
  });

  it('answers 503 when the store fails or does not answer in time', async () => {
    const failing = await serve(async () => {
      throw new Error('store down');
    });
    expect((await http(`${failing}/.well-known/acme-challenge/abc`)).status).toBe(503);
    await new Promise<void>((r) => server?.close(() => r()));
    const silent = await serve(() => new Promise<string | null>(() => undefined));
    const started = Date.now();
    const r = await http(`${silent}/.well-known/acme-challenge/abc`, { timeoutMs: 5_000 });
    expect(r.status).toBe(503);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
  });
});
