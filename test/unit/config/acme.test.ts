// `tls.acme` as `veer validate` and `start` check it: every default and key, bad values under their field,
// the CA bundle file, a host to order for.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectConfigText } from '../../../src/config/load.js';
import { localAddressSet } from '../../../src/domain/self-address.js';
import { testCa } from '../../helpers/certs.js';

const ca = testCa();
afterAll(() => ca.remove());
const host = { localAddresses: localAddressSet(['127.0.0.1']) };
const SERVICE =
  'services:\n  - { name: web, match: { hosts: [app.example.com] }, stable: { targets: ["127.0.0.1:9001"] } }\n';

function inspect(acme: string, services = SERVICE) {
  return inspectConfigText(`listen: 127.0.0.1:8080\n${services}tls:\n  acme:\n${acme}\n`, {}, undefined, host);
}

function problemsOf(acme: string, services?: string): Array<[string, string]> {
  const r = inspect(acme, services).result;
  if (r.ok) throw new Error('expected problems');
  return r.error.problems.map((p) => [p.path, p.message]);
}

describe('tls.acme config', () => {
  it('fills every default, and needs no certificate files', () => {
    const r = inspect('    directory: https://ca.example/dir').result;
    if (!r.ok) throw r.error;
    expect(r.value.tls?.acme).toEqual({
      directory: 'https://ca.example/dir',
      challenge: 'http-01',
      timeout: 30_000,
      retryMin: 60_000,
      retryMax: 6 * 3_600_000,
    });
    expect(r.value.tls?.certificates).toEqual([]);
  });

  it('accepts every key', () => {
    const keys = [
      '    directory: https://ca.example/dir',
      '    email: ops@example.com',
      '    hosts: [app.example.com, www.example.com]',
      '    challenge: tls-alpn-01',
      `    caBundle: ${ca.caFile}`,
      '    encryptionKey: a long random secret',
      '    timeout: 10s',
      '    retryMin: 30s',
      '    retryMax: 1h',
    ];
    const r = inspect(keys.join('\n')).result;
    if (!r.ok) throw r.error;
    expect(r.value.tls?.acme?.hosts).toEqual(['app.example.com', 'www.example.com']);
  });

  it('refuses wildcards, a bad directory and e-mail, short secrets, retryMin above retryMax', () => {
    const found = problemsOf(
      [
        '    directory: ftp://ca.example/dir',
        '    email: ops',
        '    hosts: ["*.example.com"]',
        '    challenge: dns-01',
        '    encryptionKey: short',
      ].join('\n'),
    );
    expect(found).toEqual(
      expect.arrayContaining([
        ['tls.acme.directory', 'expected the http(s) URL of an ACME directory'],
        ['tls.acme.email', 'expected an e-mail address, e.g. ops@example.com'],
        [
          'tls.acme.hosts[0]',
          'expected an exact DNS name such as "app.example.com", ' +
            'not a wildcard (http-01 and tls-alpn-01 cannot prove one)',
        ],
        ['tls.acme.encryptionKey', 'expected at least 16 characters (a long random secret)'],
      ]),
    );
    expect(found.find(([path]) => path === 'tls.acme.challenge')?.[1]).toMatch(/http-01.*tls-alpn-01/);
    const backoff = problemsOf('    directory: https://ca.example/dir\n    retryMin: 2h\n    retryMax: 1h');
    expect(backoff).toEqual([['tls.acme.retryMin', 'must not be longer than retryMax']]);
  });

  it('refuses hosts a CA does not issue for by name: IP literals, single labels, broken DNS labels', () => {
    const hosts = ['10.0.0.1', '"::1"', 'localhost', '-bad-.example.com', `${'a'.repeat(64)}.example.com`];
    const more = ['"a..example.com"', 'a_b.example.com', `${'abc.'.repeat(63)}com`, 'app.example.com:443'];
    more.push('1.2.3', 'web.10');
    const found = problemsOf(`    directory: https://ca.example/dir\n    hosts: [${[...hosts, ...more].join(', ')}]`);
    const expected = (why: string): string => `expected an exact DNS name such as "app.example.com", ${why}`;
    expect(found).toEqual([
      ['tls.acme.hosts[0]', expected('not an IP address (veer orders DNS names)')],
      ['tls.acme.hosts[1]', expected('not an IP address (veer orders DNS names)')],
      ['tls.acme.hosts[2]', expected('two labels or more (a CA does not issue for a single label)')],
      ['tls.acme.hosts[3]', expected('no "-" at the start or end of a label ("-bad-")')],
      ['tls.acme.hosts[4]', expected('labels of at most 63 characters ("aaaaaaaaaaaaaaaa…" has 64)')],
      ['tls.acme.hosts[5]', expected('no empty label')],
      ['tls.acme.hosts[6]', expected('only letters, digits and "-" in a label ("a_b")')],
      ['tls.acme.hosts[7]', expected('at most 253 characters')],
      ['tls.acme.hosts[8]', expected('without a port')],
      ['tls.acme.hosts[9]', expected('a last label that is not all digits')],
      ['tls.acme.hosts[10]', expected('a last label that is not all digits')],
    ]);
    const good = ['xn--bcher-kva.example', 'a-1.b2.example.com.', `${'a'.repeat(63)}.io`, '1.2.example', 'x.y2k'];
    expect(inspect(`    directory: https://ca.example/dir\n    hosts: [${good.join(', ')}]`).result.ok).toBe(true);
  });

  it('checks the CA bundle file and that there is a host to order for', () => {
    const notPem = join(ca.dir, 'not-a-ca.pem');
    writeFileSync(notPem, 'hello');
    expect(problemsOf(`    directory: https://ca.example/dir\n    caBundle: /nonexistent/ca.pem`)).toEqual([
      ['tls.acme.caBundle', 'cannot read CA bundle "/nonexistent/ca.pem": no such file'],
    ]);
    expect(problemsOf(`    directory: https://ca.example/dir\n    caBundle: ${notPem}`)).toEqual([
      ['tls.acme.caBundle', `"${notPem}" holds no PEM certificate`],
    ]);
    // A pipe blocked validate (and a reload) until a writer came.
    const fifo = join(ca.dir, 'ca.fifo');
    execFileSync('mkfifo', [fifo]);
    expect(problemsOf(`    directory: https://ca.example/dir\n    caBundle: ${fifo}`)).toEqual([
      ['tls.acme.caBundle', `cannot read CA bundle "${fifo}": not a regular file (a named pipe)`],
    ]);
    const wildcard = 'services:\n  - { name: web, match: { hosts: ["*.example.com"] }, stable: { targets: [] } }\n';
    expect(problemsOf('    directory: https://ca.example/dir', wildcard)).toEqual([
      [
        'tls.acme.hosts',
        'no service matches a host a certificate can be ordered for (wildcards, "*", IP addresses and ' +
          'single-label names cannot be): list the names in `hosts`',
      ],
    ]);
    const local =
      'services:\n  - { name: web, match: { hosts: [localhost, web, "10.0.0.1"] }, stable: { targets: [] } }\n';
    expect(problemsOf('    directory: https://ca.example/dir', local).map(([path]) => path)).toEqual([
      'tls.acme.hosts',
    ]);
    expect(inspect('    directory: https://ca.example/dir\n    hosts: [app.example.com]', wildcard).result.ok).toBe(
      true,
    );
  });
});
