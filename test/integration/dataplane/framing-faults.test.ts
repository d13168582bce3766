// Requests whose framing or version veer must not guess at, sent as raw bytes (both HTTP/1.1 fronts run
// this file): a request line claiming a version other than 1.0 or 1.1 is 505, Transfer-Encoding in an
// HTTP/1.0 request is 400 and the connection closes (RFC 9112 §6.1), an empty Host is 400, a Via entry
// naming veer in another case is a loop, and a body whose trailer is broken is answered 400 however the
// bytes arrive. None of them reaches an upstream or a pool's counters.
import { describe, expect, it } from 'vitest';
import { countersOf, expectUntouched } from '../../helpers/pool-counters.js';
import { http, rawExchange, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

async function oneService() {
  const up = await h.upstream('app');
  const v = await h.veer({ services: [service('web', [up.address])] });
  return { v, up };
}

/** Each answer's status and veer's error code, in order. */
function answers(data: string): Array<{ status: number; code: string | null }> {
  const out: Array<{ status: number; code: string | null }> = [];
  for (const m of data.matchAll(/HTTP\/1\.1 (\d{3}) [^\r]*\r\n(?:[^\r]*\r\n)*?\r\n(\{"error":\{"code":"(\w+)")?/g))
    out.push({ status: Number(m[1]), code: m[3] ?? null });
  return out;
}

describe('the request line states HTTP/1.0 or HTTP/1.1', () => {
  it('HTTP/2.0, HTTP/0.9 or no version on an HTTP/1 connection is 505, closed, forwarded nowhere', async () => {
    const { v, up } = await oneService();
    const before = await countersOf(v);
    for (const line of ['GET / HTTP/2.0', 'GET /x HTTP/0.9', 'GET /y']) {
      const r = await rawExchange(v.port, `${line}\r\nHost: front.test\r\n\r\n`);
      expect(answers(r.data), line).toEqual([{ status: 505, code: 'http_version_not_supported' }]);
      expect(r.data, line).toMatch(/\r\nConnection: close\r\n/i);
      expect(r.closedByPeer, line).toBe(true);
    }
    const upgrade =
      'GET /ws HTTP/2.0\r\nHost: front.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';
    const u = await rawExchange(v.port, upgrade);
    expect(answers(u.data)).toEqual([{ status: 505, code: 'http_version_not_supported' }]);
    expect(up.hits).toBe(0);
    await expectUntouched(v, before);
  });

  it('HTTP/1.0 and HTTP/1.1 are served', async () => {
    const { v, up } = await oneService();
    for (const version of ['HTTP/1.0', 'HTTP/1.1']) {
      const r = await rawExchange(
        v.port,
        `GET /${version} ${version}\r\nHost: front.test\r\nConnection: close\r\n\r\n`,
      );
      expect(
        answers(r.data).map((a) => a.status),
        version,
      ).toEqual([200]);
    }
    expect(up.requests.map((q) => q.url)).toEqual(['/HTTP/1.0', '/HTTP/1.1']);
  });
});

describe('Transfer-Encoding in an HTTP/1.0 request (RFC 9112 §6.1)', () => {
  it('is 400 bad_framing and closes the connection: nothing after it is read as a request', async () => {
    const { v, up } = await oneService();
    const before = await countersOf(v);
    const r = await rawExchange(
      v.port,
      'POST /te HTTP/1.0\r\nHost: front.test\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n' +
        '3\r\nabc\r\n0\r\n\r\nGET /smuggled HTTP/1.0\r\nHost: front.test\r\n\r\n',
    );
    expect(answers(r.data)).toEqual([{ status: 400, code: 'bad_framing' }]);
    expect(r.data).toMatch(/\r\nConnection: close\r\n/i);
    expect(r.closedByPeer).toBe(true);
    expect(up.hits).toBe(0);
    await expectUntouched(v, before);
  });

  it('with Content-Length as well, it is refused the same', async () => {
    const { v, up } = await oneService();
    const r = await rawExchange(
      v.port,
      'POST /te HTTP/1.0\r\nHost: front.test\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc',
    );
    // node's parser refuses the pair before veer sees it (a bare 400); either way nothing is forwarded.
    expect(answers(r.data).map((a) => a.status)).toEqual([400]);
    expect(up.hits).toBe(0);
  });
});

describe('Host', () => {
  it('an empty Host is 400 bad_host in HTTP/1.1 and HTTP/1.0', async () => {
    const { v, up } = await oneService();
    const before = await countersOf(v);
    for (const version of ['HTTP/1.1', 'HTTP/1.0']) {
      for (const field of ['Host:', 'Host: ', 'Host:\t']) {
        const r = await rawExchange(v.port, `GET / ${version}\r\n${field}\r\nConnection: close\r\n\r\n`);
        expect(answers(r.data), `${version} ${JSON.stringify(field)}`).toEqual([{ status: 400, code: 'bad_host' }]);
      }
    }
    expect(up.hits).toBe(0);
    await expectUntouched(v, before);
  });

  it('an empty Host next to an absolute-form target is replaced by its authority', async () => {
    const { v, up } = await oneService();
    const r = await rawExchange(v.port, 'GET http://front.test/abs HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n');
    expect(answers(r.data).map((a) => a.status)).toEqual([200]);
    expect(up.requests.map((q) => [q.url, q.headers.host])).toEqual([['/abs', 'front.test']]);
  });
});

describe('Via', () => {
  it('an entry naming veer in any case is a loop (508); a name that only contains it is not', async () => {
    const { v, up } = await oneService();
    for (const via of ['1.0 VEER', '1.1 Veer (edge)', 'HTTP/1.1 vEeR', '1.0 edge, 1.1 VEER']) {
      const r = await rawExchange(
        v.port,
        `GET / HTTP/1.1\r\nHost: front.test\r\nVia: ${via}\r\nConnection: close\r\n\r\n`,
      );
      expect(answers(r.data), via).toEqual([{ status: 508, code: 'loop_detected' }]);
    }
    expect(up.hits).toBe(0);
    const ok = await rawExchange(
      v.port,
      'GET / HTTP/1.1\r\nHost: front.test\r\nVia: 1.1 VEERISH\r\nConnection: close\r\n\r\n',
    );
    expect(answers(ok.data).map((a) => a.status)).toEqual([200]);
    expect(up.requests[0]?.headers.via).toBe('1.1 VEERISH, 1.1 veer');
  });
});

describe('a chunked body whose trailer is broken', () => {
  const broken = (path: string): string =>
    `POST ${path} HTTP/1.1\r\nHost: front.test\r\nTransfer-Encoding: chunked\r\n\r\n` +
    '3\r\nabc\r\n0\r\nX: y\r\nbad trailer\r\n\r\n';

  it('is answered 400 and the connection closes, when it comes in the same write as its head', async () => {
    const { v } = await oneService();
    const r = await rawExchange(v.port, broken('/one'));
    expect(answers(r.data).map((a) => a.status)).toEqual([400]);
    expect(r.closedByPeer).toBe(true);
  });

  it('behind an answer that closes the connection: that answer only, and nothing more is counted', async () => {
    const { v, up } = await oneService();
    const r = await rawExchange(
      v.port,
      'POST /te HTTP/1.0\r\nHost: front.test\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n' +
        `0\r\n\r\n${broken('/second')}`,
    );
    expect(answers(r.data)).toEqual([{ status: 400, code: 'bad_framing' }]);
    expect(up.hits).toBe(0);
    const metrics = (await http(`${v.adminUrl}/metrics`)).text;
    expect(metrics).toMatch(/veer_proxy_answers_total\{code="bad_framing"\} 1\b/);
    expect(metrics).not.toMatch(/veer_proxy_answers_total\{code="bad_request"\}/);
  });

  it('behind a good pipelined request: that one is answered first, then the 400', async () => {
    const { v, up } = await oneService();
    const r = await rawExchange(v.port, `GET /first HTTP/1.1\r\nHost: front.test\r\n\r\n${broken('/second')}`);
    expect(answers(r.data).map((a) => a.status)).toEqual([200, 400]);
    expect(r.closedByPeer).toBe(true);
    expect(up.requests[0]?.url).toBe('/first');
  });
});
