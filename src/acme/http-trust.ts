// How veer's ACME requests reach the directory: acme-client sends them through one axios instance of
// its own, so trust for a private CA (`acme.caBundle`) is given per directory origin there, never to
// the process (no NODE_TLS_REJECT_UNAUTHORIZED, no global agent). Every request is bounded in time,
// and acme-client's own transport retries (up to 75 s of fixed waits) are left to veer's backoff, which
// is told the time a rate-limited answer (429, 503) asked veer to come back at (Retry-After).
import { Agent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type acme from 'acme-client';
import { lazyPackage } from '../lazy-package.js';
import { retryAfterAt } from './renewal.js';

const acmeClient = lazyPackage<typeof acme>('acme-client');

interface OriginTrust {
  agent: Agent | null;
  timeoutMs: number;
  /** Running veers (several in one process in tests) that use it. */
  users: number;
  /** The last Retry-After of a rate-limited answer, ms since the epoch, until taken. */
  retryAfter: number | null;
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
  origins.set(origin, { agent, timeoutMs, users: (prev?.users ?? 0) + 1, retryAfter: null });
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

/** When the directory last asked to be left alone until (429/503 with Retry-After), once; null: it did not. */
export function takeRetryAfter(directory: string): number | null {
  const t = origins.get(new URL(directory).origin);
  const at = t?.retryAfter ?? null;
  if (t !== undefined) t.retryAfter = null;
  return at;
}

interface Answer {
  status?: number;
  headers?: Record<string, unknown>;
  config?: { url?: string };
}

/** acme-client turns a non-2xx answer into an Error without its headers: Retry-After is read here. */
function noteRetryAfter(r: Answer | undefined): void {
  if (r === undefined || (r.status !== 429 && r.status !== 503) || r.config?.url === undefined) return;
  const trust = origins.get(originOf(r.config.url));
  const at = retryAfterAt(r.headers?.['retry-after'], Date.now());
  if (trust !== undefined && at !== null) trust.retryAfter = at;
}

function install(): void {
  if (installed) return;
  installed = true;
  const { axios } = acmeClient();
  axios.interceptors.request.use((config) => {
    const trust = config.url === undefined ? undefined : origins.get(originOf(config.url));
    if (trust === undefined) return config;
    if (trust.agent !== null) config.httpsAgent = trust.agent;
    config.timeout = trust.timeoutMs;
    // acme-client counts its retries in the request config: starting past its limit means none.
    (config as { retryAttempt?: number }).retryAttempt = Number.MAX_SAFE_INTEGER;
    return config;
  });
  // Its requests resolve whatever the status (acme-client checks it itself); a rejection may carry one too.
  axios.interceptors.response.use(
    (response) => {
      noteRetryAfter(response as Answer);
      return response;
    },
    (error: unknown) => {
      noteRetryAfter((error as { response?: Answer } | null)?.response);
      return Promise.reject(error);
    },
  );
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
