// HTTP-01 answers on the plain listener: a key authorization in the shared store is answered for any
// Host and port, before routing and before the https redirect; a token nobody published is routed
// like any other request (an upstream may run its own ACME client); the TLS listener does not answer.
import { describe, expect, it } from 'vitest';
import { acmeChallengeKey } from '../../../src/store/keys.js';
import { RedisStore } from '../../../src/store/redis.js';
import { startAcmeVeer } from '../../helpers/acme.js';
import { freePort } from '../../helpers/process.js';
import { startRedis } from '../../helpers/redis.js';
import { https1 } from '../../helpers/tls-client.js';
import { testCa } from '../../helpers/certs.js';
import { http, useHarness } from '../../helpers/veer.js';

const h = useHarness();

describe('ACME HTTP-01 answers', () => {
  it('answers a published token for any Host, routes the others', async () => {
    const redis = await startRedis();
    h.defer(() => redis.stop());
    const ca = testCa();
    h.defer(() => ca.remove());
    const files = ca.issue(['app.test']);
    const up = await h.upstream('app');
    const port = await freePort();
    // A directory nothing answers: the order fails and waits an hour; the challenges are what is tested.
    const veer = await startAcmeVeer({
      port,
      pebble: { directory: `https://127.0.0.1:${await freePort()}/dir`, caFile: ca.caFile },
      host: 'app.test',
      upstream: `127.0.0.1:${up.port}`,
      state: { store: 'redis', redis: redis.url, prefix: 'challenge' },
      acme: { retryMin: '1h', retryMax: '1h' },
      certificates: [files],
    });
    h.defer(() => veer.close());
    const store = await RedisStore.connect(redis.url, { prefix: 'challenge' });
    h.defer(() => store.close());
    await store.put(acmeChallengeKey('tok-EN_1'), { keyAuthorization: 'tok-EN_1.thumb', host: 'app.test', since: 0 });

    const path = '/.well-known/acme-challenge/tok-EN_1';
    for (const hostHeader of ['app.test', `app.test:${port}`, 'unknown.example:5002', '127.0.0.1']) {
      const r = await http(`http://127.0.0.1:${port}${path}`, { headers: { host: hostHeader } });
      expect([hostHeader, r.status, r.text, r.headers['content-type']]).toEqual([
        hostHeader,
        200,
        'tok-EN_1.thumb',
        'text/plain',
      ]);
    }
    // Unknown token for a certificate host: routed to the upstream, not redirected to https.
    const other = await http(`http://127.0.0.1:${port}/.well-known/acme-challenge/other`, {
      headers: { host: 'app.test' },
    });
    expect(other.status).toBe(200);
    expect(other.text).toContain('app');
    // Any other path of that host goes to https.
    expect((await http(`http://127.0.0.1:${port}/x`, { headers: { host: 'app.test' } })).status).toBe(308);
    // Over TLS the path is the upstream's.
    const tls = await https1({ port: veer.tls?.port ?? 0, name: 'app.test', ca: ca.caPem, path });
    expect(tls.status).toBe(200);
    expect(tls.text).not.toContain('tok-EN_1.thumb');
  }, 60_000);
});
