// `tls.acme` beyond one field, as `veer validate` and `start` check it on the raw tree: the CA bundle
// reads and is PEM, and there is a host to order for (the services' hosts may all be wildcards).
import { acmeHosts } from '../acme/hosts.js';
import type { Problem } from '../domain/errors.js';
import { readRegularFileSync } from './file-text.js';

const record = (v: unknown): Record<string, unknown> | null =>
  typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;

export function checkAcme(tree: unknown): Problem[] {
  const acme = record(record(record(tree)?.tls)?.acme);
  if (acme === null) return [];
  return [...caBundleProblems(acme.caBundle), ...hostProblems(acme.hosts, record(tree)?.services)];
}

function caBundleProblems(path: unknown): Problem[] {
  if (typeof path !== 'string' || path === '') return [];
  const at = 'tls.acme.caBundle';
  const read = readRegularFileSync(path);
  if (!read.ok) return [{ path: at, message: `cannot read CA bundle "${path}": ${read.error}` }];
  return read.value.toString('utf8').includes('-----BEGIN CERTIFICATE-----')
    ? []
    : [{ path: at, message: `"${path}" holds no PEM certificate` }];
}

/** Without `hosts`, the services' exact hosts are ordered for: there must be one. */
function hostProblems(listed: unknown, services: unknown): Problem[] {
  if (listed !== undefined) return [];
  const patterns = (Array.isArray(services) ? services : []).flatMap((s) => {
    const hosts = record(record(s)?.match)?.hosts;
    return Array.isArray(hosts) ? hosts.filter((h): h is string => typeof h === 'string') : ['*'];
  });
  if (acmeHosts(undefined, patterns).length > 0) return [];
  return [
    {
      path: 'tls.acme.hosts',
      message:
        'no service matches a host a certificate can be ordered for (wildcards, "*", IP addresses and ' +
        'single-label names cannot be): list the names in `hosts`',
    },
  ];
}
