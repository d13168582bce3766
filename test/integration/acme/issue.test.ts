// ACME against a real pebble, one veer: a certificate is obtained over HTTP-01 (veer answers the
// challenge on its plain listener, pebble asking with `Host: name:port`) and served over HTTPS, its
// chain verifying against pebble's root.
import { describe, expect, it } from 'vitest';
import { acmeEvents, metric, awaitServed, startAcmeVeer } from '../../helpers/acme.js';
import { startPebble } from '../../helpers/pebble.js';
import { freePort } from '../../helpers/process.js';
import { https1 } from '../../helpers/tls-client.js';
import { useHarness } from '../../helpers/veer.js';

const h = useHarness();

describe('ACME with pebble', () => {
  it('obtains a certificate for the service host and serves it over HTTPS', async () => {
    const port = await freePort();
    const pebble = await startPebble({ httpPort: port });
    h.defer(() => pebble.close());
    const up = await h.upstream('app');
    const veer = await startAcmeVeer({ port, pebble, host: 'app.test', upstream: `127.0.0.1:${up.port}` });
    h.defer(() => veer.close());
    const tlsPort = veer.tls?.port ?? 0;
    const root = await pebble.root();
    const cert = await awaitServed(tlsPort, 'app.test', root, 'the ACME certificate to be served');
    expect(cert.names).toBe('DNS:app.test');
    expect(cert.issuer).toMatch(/^Pebble Intermediate CA/);
    expect(pebble.issued()).toBe(1);
    const r = await https1({ port: tlsPort, name: 'app.test', ca: root, path: '/hello' });
    expect(r.status).toBe(200);
    expect(r.text).toContain('app');
    expect(await metric(veer, 'veer_acme_renewals_total{outcome="success"}')).toBe(1);
    expect(await metric(veer, 'veer_certificate_expiry_seconds{host="app.test"}')).toBe(cert.validTo / 1000);
    const events = await acmeEvents(veer);
    expect(events.map((e) => e.data.outcome)).toEqual(['issued']);
  }, 60_000);
});
