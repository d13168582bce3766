// One certificate as configured: a PEM certificate (with its chain) and its private key, read from
// files and checked the way an operator needs to hear it (which field, what is wrong). Shared by
// `veer validate`/`start` (config/tls-check.ts) and the running listener (certificate-watch.ts).
import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { SecureContext } from 'node:tls';
import { serverContext } from './server-tls.js';
import { errorMessage, type Problem } from '../domain/errors.js';
import { readRegularFileSync } from '../config/file-text.js';

export interface CertificateFiles {
  cert: string;
  key: string;
}

export interface LoadedCertificate {
  /** The DNS names it serves: SAN DNS entries, else the subject CN; lower case, wildcards as "*.x". */
  names: string[];
  notBefore: Date;
  notAfter: Date;
  /** The PEM texts as read: a poll tells a real change from a touched file; clients without SNI need them. */
  cert: string;
  key: string;
  context: SecureContext;
}

export type CertificateRead = { ok: true; value: LoadedCertificate } | { ok: false; problems: Problem[] };

function readPem(file: string, path: string, what: string): { text: string } | Problem {
  const read = readRegularFileSync(file);
  if (!read.ok) return { path, message: `cannot read ${what} file "${file}": ${read.error}` };
  const text = read.value.toString('utf8');
  if (!/-----BEGIN [A-Z0-9 ]+-----/.test(text)) return { path, message: `"${file}" is not a PEM ${what}` };
  return { text };
}

/** The names a certificate is valid for, from its subjectAltName (or CN when it has no DNS SAN). */
export function certificateNames(x509: X509Certificate): string[] {
  const sans = (x509.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (sans.length > 0) return [...new Set(sans)];
  const cn = /(?:^|\n)CN=([^\n]+)/.exec(x509.subject)?.[1];
  return cn === undefined ? [] : [cn.toLowerCase()];
}

/** Reads and checks the pair named at `path` (e.g. "tls.certificates[0]"). */
export function readCertificate(files: CertificateFiles, path: string): CertificateRead {
  const cert = readPem(files.cert, `${path}.cert`, 'certificate');
  const key = readPem(files.key, `${path}.key`, 'private key');
  const problems = [cert, key].filter((r): r is Problem => 'message' in r);
  if (problems.length > 0 || !('text' in cert) || !('text' in key)) return { ok: false, problems };
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert.text);
  } catch (e) {
    return fail(`${path}.cert`, `"${files.cert}" is not a valid PEM certificate (${errorMessage(e)})`);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(key.text)))
      return fail(`${path}.key`, `"${files.key}" does not match the certificate in "${files.cert}"`);
  } catch (e) {
    return fail(`${path}.key`, `"${files.key}" is not a valid PEM private key (${errorMessage(e)})`);
  }
  const names = certificateNames(x509);
  if (names.length === 0) return fail(`${path}.cert`, `"${files.cert}" names no DNS name (no SAN DNS entry, no CN)`);
  try {
    const context = serverContext(cert.text, key.text);
    const dates = { notBefore: new Date(x509.validFrom), notAfter: new Date(x509.validTo) };
    return { ok: true, value: { names, ...dates, cert: cert.text, key: key.text, context } };
  } catch (e) {
    return fail(path, `the certificate and key cannot be used: ${errorMessage(e)}`);
  }
}

/** A valid pair that should not be served as it is (expired, or not valid yet): a warning, not a refusal. */
export function expiryWarning(files: CertificateFiles, c: LoadedCertificate, path: string, now: number): Problem[] {
  const p = validityProblem(files, c, path, now);
  return p === null ? [] : [p];
}

/** Why clients would refuse the pair at `now` (expired, or not valid yet), or null. */
export function validityProblem(
  files: CertificateFiles,
  c: Pick<LoadedCertificate, 'notBefore' | 'notAfter'>,
  path: string,
  now: number,
): Problem | null {
  if (c.notAfter.getTime() <= now)
    return { path: `${path}.cert`, message: `"${files.cert}" expired on ${c.notAfter.toISOString()}` };
  if (c.notBefore.getTime() > now)
    return { path: `${path}.cert`, message: `"${files.cert}" is not valid before ${c.notBefore.toISOString()}` };
  return null;
}

function fail(path: string, message: string): CertificateRead {
  return { ok: false, problems: [{ path, message }] };
}
