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

  it('never throws: every record too short for a hello, and a real hello with any byte changed or cut', async () => {
    const results = new Set<string>();
    const read = (b: Buffer) => {
      const r = helloAlpn(b);
      results.add(typeof r === 'string' ? r : 'alpn');
    };
    for (let len = 0; len <= 12; len++) {
      for (let extra = 0; extra <= 12; extra++) {
        const record = Buffer.alloc(5 + extra, 1);
        record[0] = 22;
        record.writeUInt16BE(len, 3);
        read(record);
      }
    }
    expect(helloAlpn(Buffer.from([22, 3, 1, 0, 1, 1]))).toBe('unreadable');
    expect(helloAlpn(Buffer.from([22, 3, 1, 0, 0, 1, 2, 3]))).toBe('unreadable');
    const hello = await capture(['acme-tls/1', 'h2']);
    for (let at = 0; at < hello.length; at++) {
      for (const byte of [0, 1, 0x7f, 0xff]) {
        const changed = Buffer.from(hello);
        changed[at] = byte;
        read(changed);
        read(changed.subarray(0, at + 1));
      }
    }
    expect(results).toEqual(new Set(['unreadable', 'incomplete', 'alpn']));
  });
});
