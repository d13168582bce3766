// Integration-test harness: veer on 127.0.0.1:0 (data and admin) with a memory store, real upstreams,
// small HTTP clients, and bounded polling. Everything a test starts is registered and closed in
// afterEach, so a failing assertion never leaks a server into the next test.
import {
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createConnection, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { afterEach } from 'vitest';
import { parseConfigObject } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { DataPlane } from '../../src/dataplane/dataplane.js';
import type { Clock, Random } from '../../src/domain/clock.js';
import { silentLogger, type Logger } from '../../src/domain/log.js';
import { startVeer, type RunningVeer } from '../../src/main.js';
import { freePort } from './free-port.js';
import { startUpstream, type TestUpstream, type UpstreamBehaviour } from './upstream.js';

export interface VeerOptions {
  /** Service objects in config shape (durations as strings, weights as percent). */
  services: unknown[];
  /** The `proxy` section in config shape. */
  proxy?: Record<string, unknown>;
  /** The `state` section (default: the memory store). */
  state?: Record<string, unknown>;
  /** The `tls` section in config shape (its `listen` defaults to 127.0.0.1:0 here). */
  tls?: Record<string, unknown>;
  /** The `accessLog` section (default here: off, so test runs do not print a line per request). */
  accessLog?: Record<string, unknown>;
  clock?: Clock;
  random?: Random;
  log?: Logger;
}

export interface TestVeer {
  readonly running: RunningVeer;
  readonly plane: DataPlane;
  readonly config: Config;
  readonly port: number;
  /** "http://127.0.0.1:<data port>" */
  readonly url: string;
  /** "http://127.0.0.1:<admin port>" */
  readonly adminUrl: string;
  /** The HTTPS port (0 without a `tls` section; absent where a test builds its own TestVeer). */
  readonly tlsPort?: number;
  /** Idempotent: the harness calls it again in afterEach. */
  close(): Promise<void>;
}

export interface Harness {
  veer(opts: VeerOptions): Promise<TestVeer>;
  upstream(name: string, behaviour?: Partial<UpstreamBehaviour>): Promise<TestUpstream>;
  server(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
  ): Promise<RawServer>;
  /** Registers any other cleanup (child processes, temp dirs). Runs in reverse order. */
  defer(fn: () => unknown): void;
}

export interface RawServer {
  readonly server: Server;
  readonly port: number;
  readonly address: string;
  close(): Promise<void>;
}

/** Call once at the top of a test file: returns starters whose results are closed after each test. */
export function useHarness(): Harness {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    const fns = cleanups.splice(0).reverse();
    for (const fn of fns) await fn();
  });
  return {
    async veer(opts) {
      const v = await startTestVeer(opts);
      cleanups.push(() => v.close());
      return v;
    },
    async upstream(name, behaviour) {
      const u = await startUpstream(name, behaviour);
      cleanups.push(() => u.close());
      return u;
    },
    async server(handler, onUpgrade) {
      const s = await startRawServer(handler, onUpgrade);
      cleanups.push(() => s.close());
      return s;
    },
    defer(fn) {
      cleanups.push(fn);
    },
  };
}

export function testConfig(opts: Pick<VeerOptions, 'services' | 'proxy' | 'state' | 'tls' | 'accessLog'>): Config {
  const r = parseConfigObject(
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      state: opts.state ?? { store: 'memory' },
      // VEER_TEST_FRONT=node runs a suite on node:http's front instead of veer's own, VEER_TEST_UPSTREAM=undici on
      // undici's upstream client instead of veer's own (the test's own proxy.front / upstreamClient wins).
      proxy: { ...testFront(), ...opts.proxy },
      services: opts.services,
      accessLog: opts.accessLog ?? { enabled: false },
      ...(opts.tls === undefined ? {} : { tls: { listen: '127.0.0.1:0', ...opts.tls } }),
    },
    {},
  );
  if (!r.ok) throw r.error;
  return r.value;
}

function testFront(): { front?: string; upstreamClient?: string } {
  const front = process.env.VEER_TEST_FRONT;
  const client = process.env.VEER_TEST_UPSTREAM;
  return {
    ...(front === undefined || front === '' ? {} : { front }),
    ...(client === undefined || client === '' ? {} : { upstreamClient: client }),
  };
}

export async function startTestVeer(opts: VeerOptions): Promise<TestVeer> {
  const config = testConfig(opts);
  const running = await startVeer(config, {
    log: opts.log ?? silentLogger,
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(opts.random ? { random: opts.random } : {}),
  });
  let closing: Promise<void> | null = null;
  return {
    running,
    plane: running.plane,
    config,
    port: running.data.port,
    url: `http://127.0.0.1:${running.data.port}`,
    adminUrl: `http://127.0.0.1:${running.admin.port}`,
    tlsPort: running.tls?.port ?? 0,
    close: () => (closing ??= running.close()),
  };
}

/** A plain node:http server on 127.0.0.1:0 that destroys its sockets on close. */
export async function startRawServer(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  onUpgrade?: (req: IncomingMessage, socket: Duplex, head: Buffer) => void,
): Promise<RawServer> {
  const server = createServer(handler);
  if (onUpgrade) server.on('upgrade', onUpgrade);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  return {
    server,
    port,
    address: `127.0.0.1:${port}`,
    close: () =>
      (closing ??= new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      })),
  };
}

/**
 * A port that nothing listens on, picked below the OS's ephemeral range and claimed (free-port.ts): a port
 * the OS handed out and took back could be handed out again, to veer's own listener in the same test (CI once
 * saw veer proxy to itself there: 508 loop_detected for an unreachable target).
 */
export async function deadPort(): Promise<number> {
  return freePort();
}

export interface HttpResult {
  status: number;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
  /** False when the connection ended before the whole body arrived. */
  complete: boolean;
}

export interface HttpOptions {
  method?: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer;
  timeoutMs?: number;
  /** Called once the whole request has been handed to the kernel (the peer may not have read it yet). */
  onSent?: () => void;
  /** Aborting it destroys the request (the client leaves). */
  signal?: AbortSignal;
}

/** One request on a fresh connection (no agent: no keep-alive state leaks between requests). */
export function http(url: string, opts: HttpOptions = {}): Promise<HttpResult> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: opts.method ?? 'GET', headers: opts.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const finish = (): void => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body,
          text: body.toString(),
          complete: res.complete,
        });
      };
      res.on('end', finish);
      res.on('error', finish);
      res.on('aborted', finish);
    });
    const timer = setTimeout(
      () => req.destroy(new Error(`request to ${url} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    if (opts.onSent) req.once('finish', opts.onSent);
    opts.signal?.addEventListener('abort', () => req.destroy(new Error('the client left')), { once: true });
    req.end(opts.body);
  });
}

/** JSON from the admin API. */
export async function admin<T = unknown>(
  v: TestVeer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: T }> {
  const r = await http(`${v.adminUrl}${path}`, {
    method,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: r.status, json: JSON.parse(r.text) as T };
}

/** The tests' one polling helper lives in process.ts; re-exported for the tests that import it from here. */
export { waitFor } from './process.js';

/** Sends raw bytes on a new connection and collects everything until the peer closes (bounded). */
export function rawExchange(
  port: number,
  payload: string | Buffer,
  timeoutMs = 5_000,
): Promise<{ data: string; closedByPeer: boolean; elapsedMs: number }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const sock = createConnection({ host: '127.0.0.1', port });
    const chunks: Buffer[] = [];
    let closedByPeer = false;
    const timer = setTimeout(() => sock.destroy(), timeoutMs);
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('end', () => {
      closedByPeer = true;
      sock.end();
    });
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ data: Buffer.concat(chunks).toString('latin1'), closedByPeer, elapsedMs: Date.now() - started });
    });
    sock.write(payload);
  });
}

/**
 * Sends one raw request (for header shapes node:http would not send, e.g. no Connection header or a
 * duplicate Host) and reads one response with a Content-Length; then closes.
 */
export function rawRequest(
  port: number,
  text: string,
  timeoutMs = 5_000,
): Promise<{ status: number; head: string; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no complete response within ${timeoutMs} ms: ${JSON.stringify(buf)}`));
    }, timeoutMs);
    sock.on('error', () => undefined);
    sock.on('data', (c: Buffer) => {
      buf += c.toString('latin1');
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      const head = buf.slice(0, end);
      const len = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buf.length < end + 4 + len) return;
      clearTimeout(timer);
      sock.destroy();
      resolve({ status: Number(head.slice(9, 12)), head, body: buf.slice(end + 4, end + 4 + len) });
    });
    sock.write(text);
  });
}

/** A response body must never leak internals. */
export function hasStackTrace(text: string): boolean {
  return /\n\s+at\s|\.ts:\d+|\.js:\d+|node:internal/.test(text);
}

/** Error JSON code of a proxy answer, or undefined when the body is not one. */
export function errorCode(r: HttpResult): string | undefined {
  try {
    return (JSON.parse(r.text) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

/** Host-agnostic one-service config shape. */
export function service(
  name: string,
  stable: string[],
  canary: string[] = [],
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    match: { hosts: ['*'], pathPrefix: '/' },
    stable: { targets: stable },
    canary: { targets: canary },
    ...extra,
  };
}

/** A manual clock for tests that move time (ejection windows). */
export function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start;
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
  };
}
