// HTTP client for the admin API. Every call is bounded in time, and every failure becomes a value
// with a message fit for an operator: the API's own error, or why the API could not be reached.
// Event streams are bounded too, by idleness: the server sends a keepalive every 15 s.
import { Agent, request } from 'undici';
import { SseDecoder, type SseMessage } from '../api/sse.js';
import { err, errorMessage, ok, type Problem, type Result } from '../domain/errors.js';
import type { OptionValues } from './args.js';
import { UsageError } from './args.js';

export const DEFAULT_ADMIN_URL = 'http://127.0.0.1:9090';
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Three missed keepalives and the stream counts as dead. */
export const STREAM_IDLE_MS = 45_000;

export interface AdminTarget {
  url: string;
  token: string;
}

export interface ClientFailure {
  code: string;
  message: string;
  problems: readonly Problem[];
  /** The HTTP status when the API answered (409 → the action does not fit the rollout's phase). */
  status?: number;
}

export interface EventStream {
  /** Settles (never rejects) when the stream ends: server close, network error, idleness, close(). */
  ended: Promise<void>;
  close(): void;
}

export function resolveAdmin(values: OptionValues, env: NodeJS.ProcessEnv): Result<AdminTarget, UsageError> {
  const url = values.admin ?? (env.VEER_ADMIN_URL || DEFAULT_ADMIN_URL);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return err(new UsageError(`invalid admin URL "${url}" (expected e.g. ${DEFAULT_ADMIN_URL})`));
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    return err(new UsageError(`admin URL must start with http:// or https://, got "${url}"`));
  }
  return ok({ url: url.replace(/\/+$/, ''), token: values.token ?? env.VEER_ADMIN_TOKEN ?? '' });
}

export class AdminClient {
  private readonly agent: Agent;
  private streams: Agent | null = null;

  constructor(
    private readonly target: AdminTarget,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.agent = new Agent({ connect: { timeout: timeoutMs }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  }

  get(path: string): Promise<Result<unknown, ClientFailure>> {
    return this.call('GET', path, undefined);
  }

  post(path: string, body: unknown): Promise<Result<unknown, ClientFailure>> {
    return this.call('POST', path, body);
  }

  /** Opens a server-sent-events stream; `onMessage` gets each event as it arrives. */
  async stream(path: string, onMessage: (m: SseMessage) => void): Promise<Result<EventStream, ClientFailure>> {
    const url = this.target.url + path;
    const ac = new AbortController();
    try {
      const res = await request(url, {
        method: 'GET',
        headers: this.headers('text/event-stream', false),
        dispatcher: this.streamAgent(),
        signal: ac.signal,
      });
      const type = String(res.headers['content-type'] ?? '');
      if (res.statusCode !== 200 || !type.startsWith('text/event-stream')) {
        const r = interpret(res.statusCode, await res.body.text(), url);
        return r.ok
          ? err({
              code: 'bad_response',
              message: `${url} did not answer with an event stream (HTTP ${res.statusCode})`,
              problems: [],
            })
          : r;
      }
      const decoder = new SseDecoder();
      res.body.setEncoding('utf8');
      const ended = (async () => {
        try {
          for await (const chunk of res.body) for (const m of decoder.push(String(chunk))) onMessage(m);
        } catch {
          // Aborted, reset or idle: the caller only needs to know that the stream is over.
        }
      })();
      return ok({ ended, close: () => ac.abort() });
    } catch (e) {
      return err(transportFailure(e, this.target.url, this.timeoutMs));
    }
  }

  async close(): Promise<void> {
    // Streams never finish on their own, so their agent is destroyed rather than drained.
    await Promise.all([this.agent.close(), this.streams?.destroy()]);
  }

  private streamAgent(): Agent {
    this.streams ??= new Agent({
      connect: { timeout: this.timeoutMs },
      headersTimeout: this.timeoutMs,
      bodyTimeout: STREAM_IDLE_MS,
    });
    return this.streams;
  }

  private headers(accept: string, json: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept };
    if (this.target.token !== '') headers.authorization = `Bearer ${this.target.token}`;
    if (json) headers['content-type'] = 'application/json';
    return headers;
  }

  private async call(method: 'GET' | 'POST', path: string, body: unknown): Promise<Result<unknown, ClientFailure>> {
    const url = this.target.url + path;
    const headers = this.headers('application/json', body !== undefined);
    try {
      const res = await request(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      const text = await res.body.text();
      return interpret(res.statusCode, text, url);
    } catch (e) {
      return err(transportFailure(e, this.target.url, this.timeoutMs));
    }
  }
}

function interpret(status: number, text: string, url: string): Result<unknown, ClientFailure> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (status >= 200 && status < 300) {
    if (json === undefined)
      return err({
        code: 'bad_response',
        message: `unexpected non-JSON answer from ${url} (HTTP ${status})`,
        problems: [],
      });
    return ok(json);
  }
  const apiError = (json as { error?: { code?: unknown; message?: unknown; problems?: unknown } } | undefined)?.error;
  if (apiError && typeof apiError.message === 'string') {
    const code = typeof apiError.code === 'string' ? apiError.code : 'error';
    const hint = code === 'unauthorized' ? ' (set --token or VEER_ADMIN_TOKEN)' : '';
    const problems = Array.isArray(apiError.problems) ? (apiError.problems as Problem[]) : [];
    return err({ code, message: apiError.message + hint, problems, status });
  }
  return err({ code: 'http_error', message: `HTTP ${status} from ${url}`, problems: [], status });
}

const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNRESET',
  'EADDRNOTAVAIL',
  'UND_ERR_SOCKET',
]);
const TIMEOUT = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function errorCodes(e: unknown): string[] {
  if (typeof e !== 'object' || e === null) return [];
  const own = (e as { code?: unknown }).code;
  // Happy-eyeballs connects fail with an AggregateError whose members carry the codes.
  const nested = (e as { errors?: unknown }).errors;
  const cause = (e as { cause?: unknown }).cause;
  return [
    ...(typeof own === 'string' ? [own] : []),
    ...(Array.isArray(nested) ? nested.flatMap(errorCodes) : []),
    ...(cause !== undefined && cause !== e ? errorCodes(cause) : []),
  ];
}

function transportFailure(e: unknown, base: string, timeoutMs: number): ClientFailure {
  const codes = errorCodes(e);
  const name = e instanceof Error ? e.name : '';
  if (name === 'TimeoutError' || codes.some((c) => TIMEOUT.has(c))) {
    return {
      code: 'timeout',
      message: `veer admin at ${base} did not answer within ${timeoutMs / 1000}s`,
      problems: [],
    };
  }
  if (codes.some((c) => UNREACHABLE.has(c))) {
    return { code: 'unreachable', message: `cannot reach veer admin at ${base} (is veer running?)`, problems: [] };
  }
  return {
    code: 'request_failed',
    message: `request to veer admin at ${base} failed: ${errorMessage(e)}`,
    problems: [],
  };
}

/** `error: <message>`, then the problems unless the message already is exactly them. */
export function failureLines(f: ClientFailure): string[] {
  const items = f.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
  if (items.length === 0) return [`error: ${f.message}`];
  if (items.join('; ') === f.message) {
    return items.length === 1
      ? [`error: ${items[0]}`]
      : ['error: the request was rejected:', ...items.map((i) => `  - ${i}`)];
  }
  return [`error: ${f.message}`, ...items.map((i) => `  - ${i}`)];
}
