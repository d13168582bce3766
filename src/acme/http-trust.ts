// How veer's ACME requests reach the directory: acme-client sends them through one axios instance of
// its own, so trust for a private CA (`acme.caBundle`) is given per directory origin there, never to
// the process (no NODE_TLS_REJECT_UNAUTHORIZED, no global agent). Every request is bounded in time,
// and acme-client's own transport retries (up to 75 s of fixed waits) are left to veer's backoff.
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import acme from 'acme-client';

interface OriginTrust {
  agent: Agent | null;
  timeoutMs: number;
  /** Running veers (several in one process in tests) that use it. */
  users: number;
}

const origins = new Map<string, OriginTrust>();
let installed = false;

/**
 * From now on, requests to `directory`'s origin trust `caPem` (besides the system CAs) and time out;
 * the returned function gives that up again (veer stops).
 */
export function trustDirectory(directory: string, caPem: string | null, timeoutMs: number): () => void {
  const origin = new URL(directory).origin;
  const prev = origins.get(origin);
  prev?.agent?.destroy();
  const agent = caPem === null ? null : new Agent({ ca: [...rootCertificates, caPem], keepAlive: true });
  origins.set(origin, { agent, timeoutMs, users: (prev?.users ?? 0) + 1 });
  install();
  let released = false;
  return () => {
    const t = origins.get(origin);
    if (released || t === undefined) return;
    released = true;
    if (--t.users > 0) return;
    t.agent?.destroy();
    origins.delete(origin);
  };
}

function install(): void {
  if (installed) return;
  installed = true;
  acme.axios.interceptors.request.use((config) => {
    const trust = config.url === undefined ? undefined : origins.get(originOf(config.url));
    if (trust === undefined) return config;
    if (trust.agent !== null) config.httpsAgent = trust.agent;
    config.timeout = trust.timeoutMs;
    // acme-client counts its retries in the request config: starting past its limit means none.
    (config as { retryAttempt?: number }).retryAttempt = Number.MAX_SAFE_INTEGER;
    return config;
  });
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
