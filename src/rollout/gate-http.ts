// Gates over HTTP: POST the JSON request, and a 2xx answer within the gate's timeout is a pass.
// Anything else - a network error, no answer in time, another status (redirects are not followed) -
// is a refusal, tried again up to `retries` times with a doubling backoff. Only the first line of an
// answer's body is read (bounded), and the body is always released.
import { pause } from '../domain/async.js';
import { formatDuration } from '../domain/duration.js';
import { errorMessage } from '../domain/errors.js';
import type { GateAnswer, GateConfig } from '../domain/gate.js';
import type { GateCaller } from './gate-asks.js';
import type { GateRequest } from './gate-wait.js';

/** Bytes of an answer's body read at most, and characters of its first line kept. */
const MAX_BODY_BYTES = 4096;
const MAX_LINE_CHARS = 200;

export interface HttpGateOptions {
  /** Sent as `x-veer-replica`, so a gate can tell which replica asked. */
  replica?: string;
  fetch?: typeof fetch;
  /** First wait between attempts; doubles on each further one, up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

type Attempt = Omit<GateAnswer, 'attempts'>;

export class HttpGateCaller implements GateCaller {
  private readonly fetchFn: typeof fetch;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly o: HttpGateOptions = {}) {
    this.fetchFn = o.fetch ?? fetch;
    this.backoffMs = Math.max(0, o.backoffMs ?? 500);
    this.maxBackoffMs = Math.max(this.backoffMs, o.maxBackoffMs ?? 5_000);
  }

  async ask(gate: GateConfig, request: GateRequest, signal: AbortSignal): Promise<GateAnswer> {
    const body = JSON.stringify(request);
    let last: Attempt = { passed: false, status: null, error: 'not asked', firstLine: '' };
    let attempts = 0;
    // Bounded: retries ≤ 10 (the schema), each attempt by the gate's timeout, each wait by maxBackoffMs.
    for (let i = 0; i <= gate.retries; i++) {
      if (i > 0 && !(await pause(Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (i - 1)), signal))) break;
      attempts += 1;
      last = await this.once(gate, body, signal);
      if (last.passed) break;
    }
    return { ...last, attempts };
  }

  private async once(gate: GateConfig, body: string, signal: AbortSignal): Promise<Attempt> {
    const timeout = AbortSignal.timeout(gate.timeout);
    const headers: Record<string, string> = { ...gate.headers, 'content-type': 'application/json' };
    if (this.o.replica !== undefined) headers['x-veer-replica'] = this.o.replica;
    try {
      const res = await this.fetchFn(gate.url, {
        method: 'POST',
        headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([signal, timeout]),
      });
      const firstLine = await firstLineOf(res);
      return { passed: res.status >= 200 && res.status < 300, status: res.status, error: null, firstLine };
    } catch (e) {
      const error = timeout.aborted
        ? `no answer within ${formatDuration(gate.timeout)} (timeout)`
        : signal.aborted
          ? 'asking stopped'
          : causeOf(e);
      return { passed: false, status: null, error, firstLine: '' };
    }
  }
}

/** The body's first line, bounded; a body that stalls (the timeout) or breaks leaves it empty. */
async function firstLineOf(res: Response): Promise<string> {
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    // Bounded by MAX_BODY_BYTES, and in time by the attempt's signal.
    while (size < MAX_BODY_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (value.includes(0x0a)) break;
    }
  } catch {
    // Whatever arrived before the body broke is still worth showing.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).subarray(0, MAX_BODY_BYTES).toString('utf8');
  const line = (text.split(/\r?\n/)[0] ?? '').trim();
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
}

/** fetch says "fetch failed"; the cause says what (connect ECONNREFUSED 127.0.0.1:7000). */
function causeOf(e: unknown): string {
  const cause = e instanceof Error ? (e as Error & { cause?: unknown }).cause : undefined;
  return cause === undefined ? errorMessage(e) : errorMessage(cause);
}
