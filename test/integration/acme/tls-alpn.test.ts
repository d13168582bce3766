// tls-alpn-01 against a real pebble: pebble validates on veer's HTTPS port only (its HTTP-01 port is
// one nobody listens on), where a ClientHello offering `acme-tls/1` gets the challenge certificate the
// leader published in the store; ordinary HTTPS on the same port is unaffected meanwhile.
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { awaitServed, startAcmeVeer } from '../../helpers/acme.js';
import { startPebble } from '../../helpers/pebble.js';
import { freePort } from '../../helpers/process.js';
import { http2, https1 } from '../../helpers/tls-client.js';
import { useHarness } from '../../helpers/veer.js';

const h = useHarness();

describe('ACME tls-alpn-01 with pebble', () => {
  it('obtains the certificate through the HTTPS port alone', async () => {
    const [port, tlsPort, nobody] = [await freePort(), await freePort(), await freePort()];
    const pebble = await startPebble({ httpPort: nobody, tlsPort });
    h.defer(() => pebble.close());
    const up = await h.upstream('app');
    const veer = await startAcmeVeer({
      port,
      tlsPort,
      pebble,
      host: 'app.test',
      upstream: `127.0.0.1:${up.port}`,
      acme: { challenge: 'tls-alpn-01' },
    });
    h.defer(() => veer.close());
    const root = await pebble.root();
    const cert = await awaitServed(tlsPort, 'app.test', root, 'the certificate obtained with tls-alpn-01');
    expect(cert.names).toBe('DNS:app.test');
    expect(cert.issuer).toMatch(/^Pebble Intermediate CA/);
    expect(pebble.issued()).toBe(1);
    // Hellos too short to read (a 1-byte record, an empty one and more), then a record that is no
    // handshake: each connection is closed, and veer serves on.
    // A whole HTTPS exchange between the two writes lets veer read the first bytes on their own.
    const exchange = async () => {
      expect((await https1({ port: tlsPort, name: 'app.test', ca: root, path: '/' })).status).toBe(200);
    };
    for (const bytes of [
      [22, 3, 1, 0, 1, 1],
      [22, 3, 1, 0, 0, 1, 2, 3],
      [22, 3, 1, 0, 4, 1, 0, 0, 9],
    ]) {
      expect(await closedAfter(tlsPort, Buffer.from(bytes), exchange)).toBe(true);
    }
    // HTTP/1.1 and h2 clients on the same port go where they always went.
    const r = await https1({ port: tlsPort, name: 'app.test', ca: root, path: '/x' });
    expect([r.status, r.protocol]).toEqual([200, 'http/1.1']);
    const r2 = await http2({ port: tlsPort, name: 'app.test', ca: root, path: '/y' });
    expect([r2.status, r2.protocol]).toEqual([200, 'h2']);
  }, 60_000);
});

/** Whether veer closes a connection that sent `bytes`, then (after `between`) an alert record (within 5 s). */
function closedAfter(port: number, bytes: Buffer, between: () => Promise<void>): Promise<boolean> {
  return new Promise((resolve) => {
    const alert = Buffer.from([21, 3, 1, 0, 2, 2, 40]);
    const s = connect({ port, host: '127.0.0.1' }, () =>
      s.write(bytes, () => void between().then(() => s.write(alert))),
    );
    const timer = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 5_000);
    s.on('error', () => undefined);
    s.resume(); // the alert veer sends back is read, so its close is seen
    s.on('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
