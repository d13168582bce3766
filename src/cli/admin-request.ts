// One HTTP exchange with the admin API over node:http(s), bounded in time. The CLI used undici for this: loading it
// and its first request were half of a `veer shift` from spawn to exit (572 → 278 ms in bench:cli), for a handful
// of requests to one address. Failures reject with what node:http or the timeout said, for transportFailure.
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

export interface AdminAnswer {
  status: number;
  text: string;
}

export interface OpenStream {
  status: number;
  contentType: string;
  /** The body, decoded as UTF-8; ends (or errors) when the stream does. */
  body: IncomingMessage;
  close(): void;
}

/** Keep-alive connections for the calls of one command (`status --watch` asks again every few seconds). */
export class AdminAgents {
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 4 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 4 });

  for(url: URL): HttpAgent {
    return url.protocol === 'https:' ? this.https : this.http;
  }

  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

interface Sent {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  agent: HttpAgent | false;
  signal: AbortSignal;
}

/** Starts the request; `onHead` gets the answer's head, `onError` what failed (the signal's reason once aborted). */
function send(url: URL, s: Sent, onHead: (res: IncomingMessage) => void, onError: (e: unknown) => void): void {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  // node:http wraps an abort in its own AbortError: the signal's reason (a TimeoutError) says why.
  const failed = (e: unknown): void => onError(s.signal.aborted ? s.signal.reason : e);
  const req = request(url, { method: s.method, headers: s.headers, agent: s.agent, signal: s.signal }, onHead);
  req.on('error', failed);
  req.end(s.body); // a whole body given to end(): node:http sends its Content-Length
}

/** The whole answer within `timeoutMs` (connect, head and body together). */
export function exchange(
  url: URL,
  m: Omit<Sent, 'signal' | 'agent'> & { agents: AdminAgents; timeoutMs: number },
): Promise<AdminAnswer> {
  const signal = AbortSignal.timeout(m.timeoutMs);
  return new Promise((resolve, reject) => {
    const failed = (e: unknown): void => reject(signal.aborted ? signal.reason : e);
    send(
      url,
      { ...m, agent: m.agents.for(url), signal },
      (res) => {
        // The answer's own errors come after send's mapping: the timeout's reason is taken here as there.
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', failed);
        // A body cut without an error event (the server's close mid-answer) must still settle the call.
        res.on('close', () => res.complete || failed(Object.assign(new Error('answer cut'), { code: 'ECONNRESET' })));
      },
      reject,
    );
  });
}

/**
 * An event stream's head within `openMs`; after it, the stream ends when `idleMs` pass with nothing on it (the
 * server's keepalives keep a live one going), or at close(). Its own connection: closing it closes that.
 */
export function openStream(
  url: URL,
  m: { headers: Record<string, string>; openMs: number; idleMs: number },
): Promise<OpenStream> {
  const ac = new AbortController();
  const opening = setTimeout(() => ac.abort(new DOMException('no stream head in time', 'TimeoutError')), m.openMs);
  return new Promise<OpenStream>((resolve, reject) => {
    send(
      url,
      { method: 'GET', headers: m.headers, agent: false, signal: ac.signal },
      (res) => {
        clearTimeout(opening);
        res.setEncoding('utf8');
        // Idle: no byte for idleMs. The socket's own timer, so a live stream costs no timer per chunk.
        res.socket.setTimeout(m.idleMs, () => res.destroy());
        const contentType = String(res.headers['content-type'] ?? '');
        resolve({ status: res.statusCode ?? 0, contentType, body: res, close: () => res.destroy() });
      },
      (e) => {
        clearTimeout(opening);
        reject(e);
      },
    );
  });
}

/** An answer's body as text (an event stream that was not one: its error, read whole). */
export function bodyText(res: IncomingMessage, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const timer = setTimeout(() => res.destroy(), timeoutMs);
    res.on('data', (c: string | Buffer) => (text += String(c)));
    res.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
  });
}
