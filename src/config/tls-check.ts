// The certificate files a `tls` section names, checked as `veer start` would load them: each file
// exists, reads and is PEM, each key matches its certificate; an expired certificate is a warning
// (it still serves, as a replacement may be on its way). Runs on the raw tree, so a schema problem
// elsewhere does not hide these.
import type { Problem } from '../domain/errors.js';
import { expiryWarning, readCertificate, type CertificateFiles } from '../dataplane/certificate-file.js';

export interface TlsFileCheck {
  problems: Problem[];
  warnings: Problem[];
}

function pairAt(v: unknown): CertificateFiles | null {
  if (typeof v !== 'object' || v === null) return null;
  const { cert, key } = v as Record<string, unknown>;
  return typeof cert === 'string' && cert !== '' && typeof key === 'string' && key !== '' ? { cert, key } : null;
}

/** The pairs of `tls.certificates` and `tls.defaultCertificate` that the schema would accept, with their paths. */
function pairsOf(tls: Record<string, unknown>): Array<{ path: string; files: CertificateFiles }> {
  const out: Array<{ path: string; files: CertificateFiles }> = [];
  const list = Array.isArray(tls.certificates) ? (tls.certificates as unknown[]) : [];
  list.forEach((v, i) => {
    const files = pairAt(v);
    if (files !== null) out.push({ path: `tls.certificates[${i}]`, files });
  });
  const d = pairAt(tls.defaultCertificate);
  if (d !== null) out.push({ path: 'tls.defaultCertificate', files: d });
  return out;
}

export function checkTlsFiles(tree: unknown, now: number): TlsFileCheck {
  const tls = typeof tree === 'object' && tree !== null ? (tree as Record<string, unknown>).tls : undefined;
  const found: TlsFileCheck = { problems: [], warnings: [] };
  if (typeof tls !== 'object' || tls === null) return found;
  for (const { path, files } of pairsOf(tls as Record<string, unknown>)) {
    const r = readCertificate(files, path);
    if (r.ok) found.warnings.push(...expiryWarning(files, r.value, path, now));
    else found.problems.push(...r.problems);
  }
  return found;
}
