// Reading the ALPN protocols from a ClientHello: real hellos from Node's TLS client (captured on a
// plain TCP server), cut short, and bytes that are no ClientHello.
import { createServer, type AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { helloAlpn } from '../../../src/dataplane/client-hello.js';

function capture(alpn: string[] | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const srv = createServer((s) =>
      s.once('data', (d: Buffer) => {
        s.destroy();
        srv.close();
        resolve(d);
      }),
    );
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as AddressInfo).port;
      const c = connect({ port, host: '127.0.0.1', servername: 'a.test', ...(alpn ? { ALPNProtocols: alpn } : {}) });
      c.on('error', () => undefined);
      setTimeout(() => reject(new Error('no ClientHello')), 5_000).unref();
    });
  });
}

describe('helloAlpn', () => {
  it('reads the offered protocols, in order', async () => {
    expect(helloAlpn(await capture(['acme-tls/1']))).toEqual({ alpn: ['acme-tls/1'] });
    expect(helloAlpn(await capture(['h2', 'http/1.1']))).toEqual({ alpn: ['h2', 'http/1.1'] });
    expect(helloAlpn(await capture(undefined))).toEqual({ alpn: [] });
  });

  it('asks for more bytes until the record is whole, and refuses what is not a ClientHello', async () => {
    const hello = await capture(['acme-tls/1']);
    expect(helloAlpn(hello.subarray(0, 3))).toBe('incomplete');
    expect(helloAlpn(hello.subarray(0, hello.length - 1))).toBe('incomplete');
    expect(helloAlpn(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n'))).toBe('unreadable');
    const notHello = Buffer.from(hello);
    notHello[5] = 2;
    expect(helloAlpn(notHello)).toBe('unreadable');
    // A length that runs past the record: nothing is read beyond it.
    const truncated = Buffer.from(hello);
    truncated.writeUInt16BE(60, 3);
    expect(helloAlpn(truncated.subarray(0, 65))).toBe('unreadable');
  });
});
