// An answer veer gives before it has read its request's body (a refused path, no route) ends the connection,
// so the head says `Connection: close`: a client trusting a keep-alive head would reuse a socket about to go.
import { describe, expect, it } from 'vitest';
import { rawExchange, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

describe('an answer before the request body was read', () => {
  it('says Connection: close, and a bodyless request keeps its connection', async () => {
    const up = await h.upstream('app');
    // veer's own front (node:http's reads and drops the body, keeping the connection: no head to correct).
    const v = await h.veer({ services: [service('web', [up.address])], proxy: { front: 'lean' } });
    const refused = await rawExchange(v.port, 'POST /a\\b HTTP/1.1\r\nHost: a\r\nContent-Length: 36\r\n\r\n');
    expect(refused.data).toMatch(/^HTTP\/1\.1 400 /);
    expect(refused.data).toMatch(/\r\nconnection: close\r\n/i);
    expect(refused.closedByPeer).toBe(true);
    const chunked = await rawExchange(v.port, 'POST /a\\b HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n');
    expect(chunked.data).toMatch(/\r\nconnection: close\r\n/i);
    // Nothing to read: the same refusal keeps the connection (the client ends it here, after 1 s).
    const bodyless = await rawExchange(v.port, 'GET /a\\b HTTP/1.1\r\nHost: a\r\n\r\n', 1_000);
    expect(bodyless.data).toMatch(/^HTTP\/1\.1 400 /);
    expect(bodyless.data).toMatch(/\r\nconnection: keep-alive\r\n/i);
    expect(bodyless.closedByPeer).toBe(false);
  });
});
