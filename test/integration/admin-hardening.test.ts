// The admin API of a real veer (data plane and admin on 127.0.0.1:0, real upstreams): what a
// DNS-rebinding page, an oversized path, veer's own address as a canary and malformed HTTP get.
import { createConnection } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../src/config/load.js';
import { silentLogger } from '../../src/domain/log.js';
import { startVeer } from '../../src/main.js';
import {
  hasStackTrace,
  http,
  rawExchange,
  service,
  useHarness,
  waitFor,
  type HttpResult,
  type TestVeer,
} from '../helpers/veer.js';

const h = useHarness();
const TOKEN = 'hardening-token-42';
const LONG = 'a'.repeat(10_000);

async function tokenless(): Promise<TestVeer> {
  const up = await h.upstream('stable');
  return h.veer({ services: [service('web', [up.address])] });
}

/** A veer whose admin API needs TOKEN (the harness starts tokenless ones only). */
async function withToken(): Promise<{ adminUrl: string }> {
  const up = await h.upstream('stable');
  const r = parseConfigObject(
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0', token: TOKEN },
      state: { store: 'memory' },
      services: [service('web', [up.address])],
    },
    {},
  );
  if (!r.ok) throw r.error;
  const running = await startVeer(r.value, { log: silentLogger });
  h.defer(() => running.close());
  return { adminUrl: `http://127.0.0.1:${running.admin.port}` };
}

function errorOf(r: HttpResult): { code: string; message: string } {
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  const body = JSON.parse(r.text) as { error: { code: string; message: string } };
  expect(Object.keys(body)).toEqual(['error']);
  expect(hasStackTrace(r.text)).toBe(false);
  return body.error;
}

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  http(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

describe('DNS rebinding on a tokenless admin API', () => {
  it('a foreign Host gets 421 and moves no traffic; a loopback Host is served', async () => {
    const v = await tokenless();
    const rebound = await postJson(
      `${v.adminUrl}/v1/services/web/shift`,
      { weight: 100 },
      { host: 'attacker.example' },
    );
    expect(rebound.status).toBe(421);
    expect(errorOf(rebound)).toMatchObject({
      code: 'misdirected_request',
      message: expect.stringContaining('admin.token'),
    });
    expect(rebound.text).not.toContain('attacker');
    expect(v.plane.weight('web')).toBe(0);
    for (const path of ['/healthz', '/v1/services', '/metrics', `/v1/services/${LONG}`]) {
      expect((await http(`${v.adminUrl}${path}`, { headers: { host: `attacker.example:${v.port}` } })).status).toBe(
        421,
      );
    }
    const local = await postJson(
      `${v.adminUrl}/v1/services/web/shift`,
      { weight: 10 },
      { host: `localhost:${new URL(v.adminUrl).port}` },
    );
    expect(local.status).toBe(200);
    expect(v.plane.weight('web')).toBe(1000);
  });
});

describe('a 10,000-character path', () => {
  it("without a token: the project's 414, without the path", async () => {
    const v = await tokenless();
    const r = await http(`${v.adminUrl}/v1/services/${LONG}`);
    expect(r.status).toBe(414);
    expect(errorOf(r).code).toBe('uri_too_long');
    expect(r.text).not.toContain('aaaaaaaaaa');
    const other = await http(`${v.adminUrl}/${LONG}`);
    expect(other.status).toBe(404);
    expect(other.text).not.toContain('aaaaaaaaaa');
  });

  it('with a token: 401 first, then the 414', async () => {
    const { adminUrl } = await withToken();
    const anonymous = await http(`${adminUrl}/v1/services/${LONG}`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="veer"');
    expect(errorOf(anonymous)).toEqual({ code: 'unauthorized', message: 'missing or invalid bearer token' });
    const authed = await http(`${adminUrl}/v1/services/${LONG}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(authed.status).toBe(414);
    expect(authed.text).not.toContain('aaaaaaaaaa');
    // With a token, Host is not what keeps a browser out.
    expect(
      (await http(`${adminUrl}/v1/services`, { headers: { authorization: `Bearer ${TOKEN}`, host: 'veer.internal' } }))
        .status,
    ).toBe(200);
  });
});

describe('a rollout whose canary is veer itself', () => {
  it('is refused 400 for the data-plane and the admin address, by IP and as localhost', async () => {
    const v = await tokenless();
    const adminPort = Number(new URL(v.adminUrl).port);
    const cases: Array<[string, string]> = [
      [`127.0.0.1:${v.port}`, `veer's own data-plane listener 127.0.0.1:${v.port}: traffic would loop`],
      [`localhost:${v.port}`, `veer's own data-plane listener 127.0.0.1:${v.port}`],
      [`127.0.0.1:${adminPort}`, `veer's own admin listener 127.0.0.1:${adminPort}`],
      [`localhost:${adminPort}`, `veer's own admin listener 127.0.0.1:${adminPort}`],
    ];
    for (const [target, why] of cases) {
      const r = await postJson(`${v.adminUrl}/v1/services/web/rollouts`, {
        canary: { targets: ['127.0.0.1:1', target] },
      });
      expect(r.status).toBe(400);
      const body = JSON.parse(r.text) as {
        error: { code: string; problems: Array<{ path: string; message: string }> };
      };
      expect(body.error.code).toBe('invalid_request');
      expect(body.error.problems).toEqual([
        { path: 'canary.targets[1]', message: expect.stringContaining(`is ${why}`) },
      ]);
    }
    expect((await http(`${v.adminUrl}/v1/services/web`)).text).toContain('"rollout":null');
  });
});

describe('malformed HTTP on the admin socket', () => {
  it.each([
    ['garbage', 'NOT HTTP AT ALL\r\n\r\n', 400, 'bad_request'],
    ['a broken header line', 'GET /healthz HTTP/1.1\r\nHost: localhost\r\nno colon here\r\n\r\n', 400, 'bad_request'],
    [
      'oversized headers',
      `GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`,
      431,
      'headers_too_large',
    ],
  ])('%s: a short JSON answer of ours, then the connection closes', async (_what, payload, status, code) => {
    const v = await tokenless();
    const r = await rawExchange(Number(new URL(v.adminUrl).port), payload);
    expect(r.closedByPeer).toBe(true);
    const [head = '', body = ''] = r.data.split('\r\n\r\n');
    expect(head).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
    expect(head).toMatch(/\r\nconnection: close/i);
    expect(JSON.parse(body)).toEqual({ error: { code, message: expect.any(String) } });
    expect(body).not.toMatch(/statusCode|Client Error|FST_/);
  });
});

/**
 * Sends a request head with `Expect: 100-continue` and collects what comes back; `body` is sent
 * once 100 Continue arrives.
 */
async function expectContinue(port: number, host: string, body: string): Promise<string> {
  const sock = createConnection({ host: '127.0.0.1', port });
  let data = '';
  let sent = false;
  sock.on('data', (c: Buffer) => {
    data += c.toString('latin1');
    if (!sent && data.startsWith('HTTP/1.1 100 ')) {
      sent = true;
      sock.write(body);
    }
  });
  sock.on('error', () => undefined);
  sock.write(
    `POST /v1/services/web/shift HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${body.length}\r\nExpect: 100-continue\r\n\r\n`,
  );
  try {
    await waitFor(
      () => /\r\n\r\n\{.*\}$/s.test(data.replace(/^HTTP\/1\.1 100 [^\r]*\r\n\r\n/, '')),
      'a final response',
    );
  } finally {
    sock.destroy();
  }
  return data;
}

describe('Expect: 100-continue', () => {
  it('only an admitted caller is invited to send its body', async () => {
    const v = await tokenless();
    const port = Number(new URL(v.adminUrl).port);
    const refused = await expectContinue(port, 'attacker.example', '{"weight":100}');
    expect(refused).toMatch(/^HTTP\/1\.1 421 /);
    expect(refused).not.toContain('100 Continue');
    expect(v.plane.weight('web')).toBe(0);
    const served = await expectContinue(port, '127.0.0.1', '{"weight":20}');
    expect(served).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 /);
    expect(v.plane.weight('web')).toBe(2000);
  });
});
