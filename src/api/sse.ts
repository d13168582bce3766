// Server-sent events: the wire format (both directions, so the CLI reads exactly what the API
// writes) and one live stream of rollout events over a hijacked fastify reply.
import { randomBytes } from 'node:crypto';
import type { FastifyReply } from 'fastify';
import type { RolloutEvent } from '../domain/rollout.js';
import type { EventFeed } from './ports.js';

export const SSE_CONTENT_TYPE = 'text/event-stream; charset=utf-8';
export const KEEPALIVE_MS = 15_000;
export const KEEPALIVE = ': keepalive\n\n';
/** A client that stops reading is cut off once this much is buffered for it (beyond its first batch). */
export const MAX_BUFFERED_BYTES = 1024 * 1024;
/** How long an EventSource waits before reconnecting. */
const RETRY_MS = 2_000;

/**
 * An event's SSE id is `<epoch>-<seq>`. Each event log counts its seq from 1 (a restart, another replica), so a
 * bare seq remembered from another log would filter out this one's events; the epoch tells the logs apart. A
 * log lives exactly as long as its feed object, so the epoch is drawn at random for that object. (The event's
 * JSON keeps its plain `seq`.)
 */
const epochs = new WeakMap<EventFeed, string>();
export function epochOf(feed: EventFeed): string {
  let epoch = epochs.get(feed);
  if (epoch === undefined) {
    epoch = randomBytes(6).toString('hex');
    epochs.set(feed, epoch);
  }
  return epoch;
}

export function formatEvent(e: RolloutEvent, epoch: string): string {
  // JSON.stringify never emits a raw newline, so the data fits on one `data:` line.
  return `id: ${epoch}-${e.seq}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`;
}

/** A Last-Event-ID: `<epoch>-<seq>` as sent, or a bare seq (the ids before epochs; epoch null). */
export interface EventId {
  epoch: string | null;
  seq: number;
}
export function parseEventId(raw: string): EventId | null {
  const m = /^(?:([0-9A-Za-z]{1,64})-)?(\d{1,15})$/.exec(raw.trim());
  return m ? { epoch: m[1] ?? null, seq: Number(m[2]) } : null;
}

export interface SseMessage {
  id: string | null;
  event: string;
  data: string;
}

/** Incremental SSE parser (the subset of the spec a veer stream uses, plus multi-line data). */
export class SseDecoder {
  private buffer = '';
  private id: string | null = null;
  private event = '';
  private data: string[] = [];

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const out: SseMessage[] = [];
    const lines = this.buffer.split(/\r\n|\r|\n/);
    this.buffer = lines.pop() ?? '';
    for (const line of lines) {
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return null;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
    else if (field === 'id') this.id = value;
    return null;
  }

  private dispatch(): SseMessage | null {
    const hadData = this.data.length > 0;
    const msg: SseMessage = { id: this.id, event: this.event || 'message', data: this.data.join('\n') };
    this.event = '';
    this.data = [];
    return hadData ? msg : null;
  }
}

export interface StreamOptions {
  service: string | null;
  /** Events to replay before going live. */
  replay: RolloutEvent[];
  keepaliveMs?: number;
}

const STREAM_HEADERS = {
  'content-type': SSE_CONTENT_TYPE,
  'cache-control': 'no-cache, no-transform',
  connection: 'keep-alive',
  // Reverse proxies (nginx) would otherwise buffer the stream.
  'x-accel-buffering': 'no',
};

/** Takes over the reply: from here on fastify's hooks and serializers are out of the picture. */
function begin(reply: FastifyReply): FastifyReply['raw'] {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, STREAM_HEADERS);
  res.write(`retry: ${RETRY_MS}\n\n`);
  return res;
}

/**
 * HEAD on a stream route: the head a GET gets, then the end. (A HEAD answer has no body, so a stream
 * opened for it never ended, and the connection's next request was never answered.)
 */
export function answerStreamHead(reply: FastifyReply): FastifyReply {
  reply.hijack();
  reply.raw.writeHead(200, STREAM_HEADERS);
  reply.raw.end();
  return reply;
}

/** A live stream of text frames: `write` drops what comes after the end, `end` closes it (app shutdown). */
export interface OpenStream {
  write(text: string): void;
  /** Runs once when the stream ends, whoever ends it. */
  onEnd(fn: () => void): void;
  end(): void;
  closed: Promise<void>;
}

/**
 * Takes over the reply for a stream with keepalive comments, cut off when the client stops reading.
 * `first` (a replay, the first frame) is sent whole however large: the cap bounds what piles up behind a reader
 * that stops (a backlog over it when a message is due cuts the stream), so it counts above what `first` left
 * buffered, until that has drained. (Writing `first` in chunks
 * on 'drain' instead would need a second buffer for the live events that arrive meanwhile.)
 */
export function openStream(reply: FastifyReply, keepaliveMs = KEEPALIVE_MS, first = ''): OpenStream {
  const res = begin(reply);
  let allowance = 0;
  if (first !== '') {
    res.write(first);
    allowance = res.writableLength;
    res.once('drain', () => (allowance = 0));
  }
  let open = true;
  const enders: Array<() => void> = [];
  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  // The backlog before a write is judged, not after: one message (a dashboard frame of thousands of
  // services) may be larger than the cap by itself, and an eager reader must still get every one.
  const write = (text: string): void => {
    if (!open || res.destroyed) return;
    if (res.writableLength > MAX_BUFFERED_BYTES + allowance) {
      res.destroy();
      return;
    }
    res.write(text);
  };
  // A keepalive is for an idle connection: behind a frame still draining it would only be judged as backlog.
  const keepalive = setInterval(() => res.writableLength === 0 && write(KEEPALIVE), keepaliveMs);
  keepalive.unref();
  const cleanup = (): void => {
    if (!open) return;
    open = false;
    clearInterval(keepalive);
    for (const fn of enders.splice(0)) fn();
    resolveClosed();
  };
  // The response's 'close' is the one signal that the client went away (the request's own 'close'
  // fires as soon as its empty body has been read).
  res.on('close', cleanup);
  res.on('error', cleanup);
  const onEnd = (fn: () => void): void => {
    if (open) enders.push(fn);
    else fn();
  };
  const end = (): void => {
    if (!open) return;
    cleanup();
    res.end();
  };
  return { write, onEnd, end, closed };
}

/**
 * Streams until the client goes away or `end()` is called (app shutdown). Replay and subscription
 * happen in the same tick, so no event falls between them.
 */
export function openEventStream(
  reply: FastifyReply,
  feed: EventFeed,
  opts: StreamOptions,
): { end(): void; closed: Promise<void> } {
  const epoch = epochOf(feed);
  const stream = openStream(reply, opts.keepaliveMs, opts.replay.map((e) => formatEvent(e, epoch)).join(''));
  stream.onEnd(feed.subscribe(opts.service, (e) => stream.write(formatEvent(e, epoch))));
  return { end: stream.end, closed: stream.closed };
}
