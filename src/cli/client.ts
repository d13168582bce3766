// HTTP client for the admin API. Every call is bounded in time, and every failure becomes a value
// with a message fit for an operator: the API's own error, or why the API could not be reached.
// Event streams are bounded too, by idleness: the server sends a keepalive every 15 s.
import { SseDecoder, type SseMessage } from '../api/sse.js';
import type { z } from 'zod';
import type { ProxyErrorCode } from '../dataplane/responses.js';
import { err, ok, type Problem, type Result } from '../domain/errors.js';
import { AdminAgents, bodyText, exchange, openStream } from './admin-request.js';
import type { AdminTarget } from './admin-target.js';
import { checkAnswer } from './answers.js';
import { transportFailure } from './transport-failure.js';

export const DEFAULT_TIMEOUT_MS = 10_000;
/** Three missed keepalives and the stream counts as dead. */
export const STREAM_IDLE_MS = 45_000;

export { resolveAdmin, DEFAULT_ADMIN_URL, type AdminTarget } from './admin-target.js';

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

export class AdminClient {
  private readonly agents = new AdminAgents();
  private readonly streams = new Set<() => void>();

  constructor(
    private readonly target: AdminTarget,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {}

  /** The answer, checked against the shape the caller reads; `limitMs` (a deadline's rest) may shorten the call. */
  async get<T>(path: string, schema: z.ZodType<T>, limitMs = Infinity): Promise<Result<T, ClientFailure>> {
    const ms = Math.max(1, Math.min(this.timeoutMs, limitMs));
    return this.checked(path, schema, await this.call('GET', path, undefined, ms));
  }

  async post<T>(path: string, body: unknown, schema: z.ZodType<T>): Promise<Result<T, ClientFailure>> {
    return this.checked(path, schema, await this.call('POST', path, body, this.timeoutMs));
  }

  private checked<T>(path: string, schema: z.ZodType<T>, r: Result<unknown, ClientFailure>): Result<T, ClientFailure> {
    return r.ok ? checkAnswer(r.value, schema, this.target.url + path) : r;
  }

  /**
   * Opens a server-sent-events stream; `onMessage` gets each event as it arrives. `limitMs` (a deadline's
   * rest) may shorten the wait for its head; once open, only idleness ends it.
   */
  async stream(
    path: string,
    onMessage: (m: SseMessage) => void,
    limitMs = Infinity,
  ): Promise<Result<EventStream, ClientFailure>> {
    const url = this.target.url + path;
    const ms = Math.max(1, Math.min(this.timeoutMs, limitMs));
    try {
      const res = await openStream(new URL(url), {
        headers: this.headers('text/event-stream', false),
        openMs: ms,
        idleMs: STREAM_IDLE_MS,
      });
      if (res.status !== 200 || !res.contentType.startsWith('text/event-stream')) {
        const r = interpret(res.status, await bodyText(res.body, ms), url);
        return r.ok
          ? err({
              code: 'bad_response',
              message: `${url} did not answer with an event stream (HTTP ${res.status})`,
              problems: [],
            })
          : r;
      }
      const decoder = new SseDecoder();
      this.streams.add(res.close);
      const ended = (async () => {
        try {
          for await (const chunk of res.body) for (const m of decoder.push(String(chunk))) onMessage(m);
        } catch {
          // Aborted, reset or idle: the caller only needs to know that the stream is over.
        } finally {
          this.streams.delete(res.close);
        }
      })();
      return ok({ ended, close: res.close });
    } catch (e) {
      return err(transportFailure(e, this.target.url, ms));
    }
  }

  close(): Promise<void> {
    // Streams never finish on their own, so they are destroyed rather than drained; so are idle connections.
    for (const close of this.streams) close();
    this.agents.destroy();
    return Promise.resolve();
  }

  private headers(accept: string, json: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept };
    if (this.target.token !== '') headers.authorization = `Bearer ${this.target.token}`;
    if (json) headers['content-type'] = 'application/json';
    return headers;
  }

  private async call(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    timeoutMs: number,
  ): Promise<Result<unknown, ClientFailure>> {
    const url = this.target.url + path;
    const headers = this.headers('application/json', body !== undefined);
    try {
      const res = await exchange(new URL(url), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        agents: this.agents,
        timeoutMs,
      });
      return interpret(res.status, res.text, url);
    } catch (e) {
      return err(transportFailure(e, this.target.url, timeoutMs));
    }
  }
}

/** Codes only veer's data plane answers with: --admin names the proxy's port, not the admin API's. */
const DATA_PLANE_CODES: ReadonlySet<string> = new Set([
  'no_route',
  'bad_host',
  'bad_path',
  'no_targets',
  'no_healthy_targets',
  'drain_timeout',
  'bad_gateway',
  'upstream_unreachable',
  'upstream_timeout',
  'loop_detected',
  'maintenance_timeout',
] satisfies ProxyErrorCode[]);

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
        message: `unexpected non-JSON answer from ${url} (HTTP ${status}) — is --admin pointing at veer's admin API?`,
        problems: [],
      });
    return ok(json);
  }
  const apiError = (json as { error?: { code?: unknown; message?: unknown; problems?: unknown } } | undefined)?.error;
  if (apiError && typeof apiError.message === 'string') {
    const code = typeof apiError.code === 'string' ? apiError.code : 'error';
    const hint =
      code === 'unauthorized'
        ? ' (set --token or VEER_ADMIN_TOKEN)'
        : DATA_PLANE_CODES.has(code)
          ? ` — veer's data plane (the proxy) answered at ${url}, not its admin API: point --admin or ` +
            'VEER_ADMIN_URL at admin.listen (default http://127.0.0.1:9090)'
          : '';
    const problems = Array.isArray(apiError.problems) ? (apiError.problems as Problem[]) : [];
    return err({ code, message: apiError.message + hint, problems, status });
  }
  return err({ code: 'http_error', message: `HTTP ${status} from ${url}`, problems: [], status });
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
