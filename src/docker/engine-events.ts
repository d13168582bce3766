// Follows one engine's container events and survives what kills the stream: a daemon restart, a
// dropped TCP connection, an endpoint that is not up yet. It reconnects with backoff and passes
// `since` so events missed while disconnected replay (the engine keeps a short buffer); replayed
// events already delivered are dropped. Listeners still re-list on every 'up', because the buffer
// is lost when the daemon itself restarts.
import { StringDecoder } from 'node:string_decoder';
import type Docker from 'dockerode';
import { systemClock, type Clock } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { EngineErrors } from './engine-errors.js';
import type { EngineEvent } from './port.js';

const ACTIONS = ['create', 'start', 'die', 'stop', 'destroy', 'health_status', 'pause', 'unpause', 'rename', 'update'];
const BACKOFF_MIN_MS = 250;
const BACKOFF_MAX_MS = 5_000;
/** A stream that stayed up this long was a working one: the next reconnect starts at the least backoff. */
const STABLE_MS = 10_000;
/** Bounds only the wait for the stream's response headers; an open stream may stay silent for hours. */
const CONNECT_TIMEOUT_MS = 15_000;
/** More than one second of events at any realistic rate: enough to recognise a replay. */
const SEEN_MAX = 4_096;
const LINE_MAX = 1 << 20;

interface RawEvent {
  Type?: string;
  Action?: string;
  status?: string;
  id?: string;
  Actor?: { ID?: string };
  time?: number;
  timeNano?: number;
}

/** Splits a byte stream into JSON lines, whatever the chunk boundaries (and UTF-8 sequences) are. */
export class JsonLines {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';

  push(chunk: Buffer | string, onValue: (v: unknown) => void, onBad: (line: string) => void): void {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') continue;
      try {
        onValue(JSON.parse(line));
      } catch {
        onBad(line);
      }
    }
    // An event is a few hundred bytes; a megabyte without a newline is not an event stream.
    if (this.buffer.length > LINE_MAX) {
      onBad(this.buffer.slice(0, 200));
      this.buffer = '';
    }
  }
}

export class EventWatch {
  private stopped = false;
  private state: 'connecting' | 'up' | 'down' = 'connecting';
  private backoffMs = BACKOFF_MIN_MS;
  /** When the current stream was attached (null: none is). */
  private upSince: number | null = null;
  private since: number | undefined;
  private readonly seen = new Set<string>();
  private controller: AbortController | undefined;
  private stream: NodeJS.ReadableStream | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly docker: Docker,
    private readonly errors: EngineErrors,
    private readonly listener: (e: EngineEvent) => void,
    private readonly log: Logger,
    private readonly endpoint: string,
    private readonly clock: Clock = systemClock,
  ) {}

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.controller?.abort();
    this.destroyStream();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const controller = new AbortController();
    this.controller = controller;
    const timer = setTimeout(() => controller.abort(), CONNECT_TIMEOUT_MS);
    const opts: Docker.GetEventsOptions = {
      filters: { type: ['container'], event: ACTIONS },
      abortSignal: controller.signal,
    };
    if (this.since !== undefined) opts.since = this.since;
    let stream: NodeJS.ReadableStream;
    try {
      stream = await this.docker.getEvents(opts);
    } catch (e) {
      this.lost(
        controller.signal.aborted && !this.stopped
          ? this.errors.timeout('opening the event stream', CONNECT_TIMEOUT_MS)
          : e,
      );
      return;
    } finally {
      clearTimeout(timer);
    }
    if (this.stopped) {
      destroy(stream);
      return;
    }
    this.attach(stream);
  }

  private attach(stream: NodeJS.ReadableStream): void {
    this.stream = stream;
    const lines = new JsonLines();
    let ended = false;
    const end = (e: unknown): void => {
      if (ended || this.stream !== stream) return;
      ended = true;
      this.stream = undefined;
      this.lost(e ?? this.errors.plain('the event stream ended'));
    };
    stream.on('data', (chunk: Buffer | string) =>
      lines.push(
        chunk,
        (v) => this.onEvent(v as RawEvent),
        (line) =>
          this.log.log('warn', 'docker: unparsable event', { endpoint: this.endpoint, line: line.slice(0, 200) }),
      ),
    );
    stream.on('error', end);
    stream.on('end', () => end(undefined));
    stream.on('close', () => end(undefined));
    if (this.state !== 'up' && this.state !== 'connecting')
      this.log.log('info', 'docker: event stream back', { endpoint: this.endpoint });
    this.state = 'up';
    this.upSince = this.clock.now();
    this.emit({ type: 'up' });
  }

  private onEvent(ev: RawEvent): void {
    if (ev.Type !== undefined && ev.Type !== 'container') return;
    const id = ev.Actor?.ID ?? ev.id;
    const action = ev.Action ?? ev.status;
    if (!id || !action) return;
    if (typeof ev.time === 'number') this.since = Math.max(this.since ?? 0, ev.time);
    if (!this.firstSighting(`${id}|${action}|${ev.timeNano ?? ev.time ?? ''}`)) return;
    this.emit({ type: 'changed', id, action });
  }

  private firstSighting(key: string): boolean {
    if (this.seen.has(key)) return false;
    this.seen.add(key);
    // Sets iterate in insertion order: dropping the first entry drops the oldest.
    if (this.seen.size > SEEN_MAX) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }

  private lost(e: unknown): void {
    if (this.stopped) return;
    if (this.state !== 'down') {
      const error = this.errors.map(e, 'event stream').message;
      this.log.log('warn', 'docker: event stream lost', { endpoint: this.endpoint, error });
      this.state = 'down';
      this.emit({ type: 'down', error });
    }
    // Not reset on connecting: an engine (or a proxy) that accepts the stream and drops it at once would
    // be asked again every 250 ms forever, each time a relist and a warning.
    if (this.upSince !== null && this.clock.now() - this.upSince >= STABLE_MS) this.backoffMs = BACKOFF_MIN_MS;
    this.upSince = null;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, BACKOFF_MAX_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect();
    }, delay);
  }

  private destroyStream(): void {
    const s = this.stream;
    this.stream = undefined;
    if (s) destroy(s);
  }

  private emit(e: EngineEvent): void {
    try {
      this.listener(e);
    } catch (err) {
      // A listener bug must not kill the watch (and with it every later event).
      this.log.log('error', 'docker: event listener threw', { endpoint: this.endpoint, error: errorMessage(err) });
    }
  }
}

function destroy(stream: NodeJS.ReadableStream): void {
  // Destroying an aborted response may still emit 'error'; unheard, that would crash the process.
  stream.on('error', () => undefined);
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
