// ACME against a real pebble, one veer: a certificate is obtained over HTTP-01 (veer answers the
// challenge on its plain listener, pebble asking with `Host: name:port`) and served over HTTPS, its
// chain verifying against pebble's root.
import { describe, expect, it } from 'vitest';
import { acmeEvents, issuedVeer, metric } from '../../helpers/acme.js';
import { https1 } from '../../helpers/tls-client.js';
import { useHarness } from '../../helpers/veer.js';

const h = useHarness();

describe('ACME with pebble', () => {
  it('obtains a certificate for the service host and serves it over HTTPS', async () => {
    const { pebble, veer, tlsPort, root, first: cert } = await issuedVeer(h, 'the ACME certificate to be served');
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
