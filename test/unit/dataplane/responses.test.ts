import type { ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { httpStatusOf, sendProxyError, type ProxyErrorCode } from '../../../src/dataplane/responses.js';

interface FakeRes {
  headersSent: boolean;
  destroyed: boolean;
  status: number | undefined;
  headers: string[] | undefined;
  body: Buffer | undefined;
  destroyCalls: number;
}

function fakeRes(state: Partial<Pick<FakeRes, 'headersSent' | 'destroyed'>> = {}): {
  res: ServerResponse;
  seen: FakeRes;
} {
  const seen: FakeRes = {
    headersSent: false,
    destroyed: false,
    status: undefined,
    headers: undefined,
    body: undefined,
    destroyCalls: 0,
    ...state,
  };
  const res = {
    get headersSent() {
      return seen.headersSent;
    },
    get destroyed() {
      return seen.destroyed;
    },
    writeHead(status: number, headers: string[]) {
      seen.status = status;
      seen.headers = headers;
      seen.headersSent = true;
      return this;
    },
    end(body: Buffer) {
      seen.body = body;
      return this;
    },
    destroy() {
      seen.destroyCalls++;
      seen.destroyed = true;
      return this;
    },
  };
  return { res: res as unknown as ServerResponse, seen };
}

const CODES: Record<ProxyErrorCode, number> = {
  no_route: 404,
  bad_request: 400,
  bad_host: 400,
  bad_path: 400,
  request_timeout: 408,
  payload_too_large: 413,
  too_many_headers: 431,
  unsupported_transfer_encoding: 501,
  bad_framing: 400,
  http_version_not_supported: 505,
  upgrade_unsupported: 501,
  no_targets: 503,
  no_healthy_targets: 503,
  drain_timeout: 504,
  bad_gateway: 502,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  loop_detected: 508,
  maintenance: 503,
  maintenance_timeout: 503,
};

describe('httpStatusOf', () => {
  it('maps every code to its status', () => {
    for (const [code, status] of Object.entries(CODES)) expect(httpStatusOf(code as ProxyErrorCode), code).toBe(status);
  });
});

describe('sendProxyError', () => {
  it('answers with the status and a short JSON body naming the code', () => {
    for (const code of Object.keys(CODES) as ProxyErrorCode[]) {
      const { res, seen } = fakeRes();
      sendProxyError(res, code);
      expect(seen.status).toBe(CODES[code]);
      const body = JSON.parse((seen.body as Buffer).toString('utf8')) as { error: { code: string; message: string } };
      expect(Object.keys(body)).toEqual(['error']);
      expect(Object.keys(body.error).sort()).toEqual(['code', 'message']);
      expect(body.error.code).toBe(code);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(seen.destroyCalls).toBe(0);
    }
  });

  it('sends JSON content type, an exact length and no-store', () => {
    const { res, seen } = fakeRes();
    sendProxyError(res, 'no_route');
    const h = seen.headers as string[];
    expect(h.slice(0, 6)).toEqual([
      'content-type',
      'application/json',
      'content-length',
      String((seen.body as Buffer).length),
      'cache-control',
      'no-store',
    ]);
  });

  it('appends extra headers after its own', () => {
    const { res, seen } = fakeRes();
    sendProxyError(res, 'no_targets', ['set-cookie', 'veer-web=12; Path=/', 'retry-after', '1']);
    expect((seen.headers as string[]).slice(6)).toEqual(['set-cookie', 'veer-web=12; Path=/', 'retry-after', '1']);
  });

  it('destroys the response instead of writing when headers were already sent', () => {
    const { res, seen } = fakeRes({ headersSent: true });
    sendProxyError(res, 'bad_gateway');
    expect(seen.destroyCalls).toBe(1);
    expect(seen.status).toBeUndefined();
    expect(seen.body).toBeUndefined();
  });

  it('only destroys an already destroyed response', () => {
    const { res, seen } = fakeRes({ destroyed: true });
    sendProxyError(res, 'upstream_timeout');
    expect(seen.destroyCalls).toBe(1);
    expect(seen.status).toBeUndefined();
  });
});
