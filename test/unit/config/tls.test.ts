// The `tls` section as `veer validate` and `veer start` check it: schema (defaults, shapes) and the
// certificate files themselves (made with openssl into a temp dir), every problem under its field.
import { execFileSync } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectConfigText } from '../../../src/config/load.js';
import { localAddressSet } from '../../../src/domain/self-address.js';
import { testCa } from '../../helpers/certs.js';

const ca = testCa();
afterAll(() => ca.remove());
const good = ca.issue(['a.test']);
const other = ca.issue(['b.test']);
const host = { localAddresses: localAddressSet(['127.0.0.1']) };

function inspect(tls: string) {
  return inspectConfigText(`listen: 127.0.0.1:8080\ntls:\n${tls}\n`, {}, undefined, host);
}

function problemsOf(tls: string): Array<[string, string]> {
  const r = inspect(tls).result;
  if (r.ok) throw new Error('expected problems');
  return r.error.problems.map((p) => [p.path, p.message]);
}

describe('tls config', () => {
  it('fills every default', () => {
    const r = inspect(`  certificates: [{ cert: ${good.cert}, key: ${good.key} }]`).result;
    if (!r.ok) throw r.error;
    expect(r.value.tls).toEqual({
      listen: { host: '0.0.0.0', port: 8443 },
      certificates: [good],
      redirect: true,
      http2: true,
      http2Limits: {
        maxConcurrentStreams: 100,
        maxHeaderListSize: 32 * 1024,
        streamResetBurst: 200,
        streamResetRate: 50,
      },
      watchInterval: 5000,
    });
  });

  it('bounds http2Limits.maxHeaderListSize (Node threw on the first HTTP/2 client with an unbounded one)', () => {
    const pair = `  certificates: [{ cert: ${good.cert}, key: ${good.key} }]`;
    for (const size of ['5gb', '99999999999999999999gb', '17mb', '1023', 0])
      expect(problemsOf(`${pair}\n  http2Limits: { maxHeaderListSize: ${size} }`), String(size)).toEqual([
        ['tls.http2Limits.maxHeaderListSize', 'must be between 1kb and 16mb'],
      ]);
    for (const size of ['1kb', '16mb', 65536])
      expect(inspect(`${pair}\n  http2Limits: { maxHeaderListSize: ${size} }`).result.ok, String(size)).toBe(true);
  });

  it('names the field of each file that cannot be used', () => {
    const notPem = join(ca.dir, 'not.pem');
    writeFileSync(notPem, 'hello');
    const unreadable = join(ca.dir, 'unreadable.key');
    writeFileSync(unreadable, 'x');
    chmodSync(unreadable, 0o000);
    const rows = [
      `    - { cert: /nonexistent/a.pem, key: ${good.key} }`,
      `    - { cert: ${notPem}, key: ${good.key} }`,
      `    - { cert: ${good.cert}, key: ${other.key} }`,
    ];
    const found = problemsOf(`  certificates:\n${rows.join('\n')}`);
    expect(found).toEqual([
      ['tls.certificates[0].cert', 'cannot read certificate file "/nonexistent/a.pem": no such file'],
      ['tls.certificates[1].cert', `"${notPem}" is not a PEM certificate`],
      ['tls.certificates[2].key', `"${other.key}" does not match the certificate in "${good.cert}"`],
    ]);
    // root reads any file: the mode only shows for an unprivileged user.
    if (process.getuid?.() !== 0) {
      const denied = problemsOf(`  certificates: [{ cert: ${good.cert}, key: ${unreadable} }]`);
      expect(denied[0]?.[1]).toMatch(/permission denied/);
    }
  });

  it('refuses a pipe or a device as a certificate or key file (reading one blocked or filled memory)', () => {
    const fifo = join(ca.dir, 'cert.fifo');
    execFileSync('mkfifo', [fifo]);
    const found = problemsOf(
      `  certificates:\n    - { cert: ${fifo}, key: ${good.key} }\n    - { cert: ${good.cert}, key: /dev/zero }`,
    );
    expect(found).toEqual([
      ['tls.certificates[0].cert', `cannot read certificate file "${fifo}": not a regular file (a named pipe)`],
      ['tls.certificates[1].key', 'cannot read private key file "/dev/zero": not a regular file (a device)'],
    ]);
  });

  it('warns about an expired certificate without refusing it', () => {
    const old = ca.issue(['old.test'], { expired: true });
    const r = inspect(`  certificates: [{ cert: ${old.cert}, key: ${old.key} }]`);
    expect(r.result.ok).toBe(true);
    expect(r.warnings).toEqual([
      { path: 'tls.certificates[0].cert', message: `"${old.cert}" expired on 2020-01-02T00:00:00.000Z` },
    ]);
  });

  it('refuses a section without certificates and a malformed hsts, naming the field', () => {
    expect(problemsOf('  redirect: true').map(([p]) => p)).toEqual(['tls.certificates']);
    const hsts = problemsOf(`  certificates: [{ cert: ${good.cert}, key: ${good.key} }]\n  hsts: forever`);
    expect(hsts).toEqual([['tls.hsts', 'expected e.g. "max-age=31536000; includeSubDomains"']]);
  });
});
