// Certificates for TLS tests, made with the openssl CLI into a temp dir: a test CA (so clients verify
// for real instead of skipping verification) and leaf certificates for chosen DNS names.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface IssuedCertificate {
  cert: string;
  key: string;
}

export interface TestCa {
  readonly dir: string;
  /** The CA certificate's path and PEM text (for `ca:` options and curl's --cacert). */
  readonly caFile: string;
  readonly caPem: string;
  /** A leaf for `names` (SAN DNS); `file` picks the file names, so a test can issue over an existing pair. */
  issue(names: readonly string[], opts?: { file?: string; expired?: boolean }): IssuedCertificate;
  remove(): void;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

export function testCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'veer-tls-'));
  openssl(
    ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=veer test CA'],
    dir,
  );
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'serial'), '1000\n');
  writeFileSync(
    join(dir, 'ca.cnf'),
    `[ca]\ndefault_ca=d\n[d]\ndir=${dir}\ndatabase=${dir}/index.txt\nnew_certs_dir=${dir}\nserial=${dir}/serial\n` +
      'default_md=sha256\npolicy=p\nunique_subject=no\n[p]\ncommonName=supplied\n',
  );
  let n = 0;
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    caPem: readFileSync(join(dir, 'ca.pem'), 'utf8'),
    issue(names, opts = {}) {
      const base = opts.file ?? `leaf${++n}`;
      const tmp = `tmp${++n}`;
      writeFileSync(join(dir, `${tmp}.ext`), `subjectAltName=${names.map((x) => `DNS:${x}`).join(',')}\n`);
      openssl(['req', '-new', ...EC, '-keyout', `${tmp}.key`, '-out', `${tmp}.csr`, '-subj', `/CN=${names[0]}`], dir);
      const sign = opts.expired
        ? ['ca', '-batch', '-config', 'ca.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${tmp}.csr`]
            .concat(['-out', `${tmp}.pem`, '-startdate', '20200101000000Z', '-enddate', '20200102000000Z'])
            .concat(['-extfile', `${tmp}.ext`, '-notext'])
        : ['x509', '-req', '-in', `${tmp}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
            '-out',
            `${tmp}.pem`,
            '-days',
            '2',
            '-extfile',
            `${tmp}.ext`,
          ]);
      openssl(sign, dir);
      // Written whole at once, so a poll never reads a half-copied pair from this helper.
      writeFileSync(join(dir, `${base}.key`), readFileSync(join(dir, `${tmp}.key`)));
      writeFileSync(join(dir, `${base}.pem`), readFileSync(join(dir, `${tmp}.pem`)));
      return { cert: join(dir, `${base}.pem`), key: join(dir, `${base}.key`) };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
