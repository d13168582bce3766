// An upstream's answers on one connection, read by llhttp (the same strict WebAssembly build as the front's
// requests): a 1xx is passed over (the final answer follows it), a protocol switch nobody asked for or a
// head past the size limit is a broken answer, an HTTP/1.1 upstream's trailers are not passed on. Each
// answer stops the parser where it ends, so the connection knows whether bytes followed it.
import { errors } from 'undici';
import { FieldList } from './field-list.js';
import { C, finish, llhttp, load, run, type LlhttpCallbacks } from './llhttp.js';

const OK = C.ERROR.OK as number;
const PAUSED = C.ERROR.PAUSED as number;

/** Where an answer goes as it is read. */
export interface ResponseSink {
  /** The final answer's head. False: read no further (its request was aborted). */
  head(status: number, raw: string[], statusText: string): boolean;
  body(bytes: Buffer): void;
}

export type ReadResult =
  | { kind: 'more' }
  /** The answer is whole; `leftover`: bytes after it in the same read (nobody asked for them). */
  | { kind: 'whole'; leftover: number }
  | { kind: 'broken'; err: Error }
  /** The sink said stop. */
  | { kind: 'stopped' };

/** undici's parser error (its constructor prefixes the code with HPE_; its declared type says otherwise). */
const ParserError = errors.HTTPParserError as unknown as new (message: string, code: string) => Error;

export class ResponseReader implements LlhttpCallbacks {
  private readonly ptr: number;
  private readonly fields: FieldList;
  private statusText = '';
  private headOnly = false;
  /** A 1xx answer is being read. */
  private interim = false;
  private whole = false;
  private stopped = false;
  /** The final answer's head was read. */
  gotHeaders = false;
  /** How long the upstream keeps the connection open after this answer (its Keep-Alive field). */
  keepAliveMs = Infinity;

  constructor(
    private readonly sink: ResponseSink,
    maxHeaderSize: number,
  ) {
    this.fields = new FieldList(maxHeaderSize);
    this.ptr = llhttp().llhttp_alloc(C.TYPE.RESPONSE);
  }

  /** A new request went out; `headOnly`: it was HEAD (its answer has no body, whatever its head says). */
  start(headOnly: boolean): void {
    this.headOnly = headOnly;
    this.gotHeaders = false;
    this.whole = false;
    this.stopped = false;
  }

  read(data: Buffer): ReadResult {
    const at = load(data);
    const ret = run(this, this.ptr, at, data.length);
    if (this.stopped) return { kind: 'stopped' };
    if (this.whole) {
      const leftover = at + data.length - llhttp().llhttp_get_error_pos(this.ptr);
      llhttp().llhttp_resume(this.ptr);
      return { kind: 'whole', leftover };
    }
    return ret === OK ? { kind: 'more' } : { kind: 'broken', err: this.error(ret) };
  }

  /** The upstream ended its side: true when that ends the answer (a body read to the connection's end). */
  ended(): boolean {
    if (this.gotHeaders && !this.whole) finish(this, this.ptr);
    return this.whole;
  }

  /** After a whole answer: the upstream keeps the connection (HTTP/1.1 without `Connection: close`). */
  get keepAlive(): boolean {
    return llhttp().llhttp_should_keep_alive(this.ptr) === 1;
  }

  free(): void {
    llhttp().llhttp_free(this.ptr);
  }

  private error(ret: number): Error {
    if (this.fields.overflowed) return new errors.HeadersOverflowError();
    const name = Object.keys(C.ERROR).find((k) => C.ERROR[k] === ret) ?? String(ret);
    return new ParserError(`upstream response: ${name}`, name);
  }

  /** @internal */
  onBegin(): number {
    this.fields.reset();
    this.statusText = '';
    return 0;
  }

  /** @internal */
  onUrl(): number {
    return 0;
  }

  /** @internal */
  onStatus(s: string): number {
    this.statusText += s;
    // The reason phrase counts toward the head's limit, as node:http counts it: unbounded, one upstream
    // could grow it until the process runs out of memory.
    return this.fields.count(s.length);
  }

  /** @internal */
  onField(s: string): number {
    return this.gotHeaders ? 0 : this.fields.name(s); // after the head: a trailer
  }

  /** @internal */
  onValue(s: string): number {
    return this.gotHeaders ? 0 : this.fields.value(s);
  }

  /** @internal */
  onHeadersComplete(upgrade: boolean, status: number): number {
    if (upgrade || status === 101) return -1;
    if (status < 200) {
      this.interim = true;
      return 0;
    }
    this.gotHeaders = true;
    const raw = this.fields.raw;
    this.keepAliveMs = keepAliveMs(raw);
    if (!this.sink.head(status, raw, this.statusText)) {
      this.stopped = true;
      return -1;
    }
    return this.headOnly ? 1 : 0;
  }

  /** @internal */
  onBody(bytes: Buffer): number {
    // A copy: `bytes` is a view of the connection's shared read buffer, which the next read overwrites
    // (the front may hold the chunk until the loop's turn ends, or longer under backpressure).
    this.sink.body(Buffer.from(bytes));
    return this.stopped ? -1 : 0;
  }

  /** @internal */
  onComplete(): number {
    if (this.interim) {
      this.interim = false;
      return 0;
    }
    this.whole = true;
    return PAUSED;
  }

  /** The sink's request was aborted while a read was under way: its callbacks stop. */
  stop(): void {
    this.stopped = true;
  }
}

/** How long the upstream keeps a connection open, from its Keep-Alive field (a second less, as undici reads it). */
function keepAliveMs(raw: readonly string[]): number {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length !== 10 || name.toLowerCase() !== 'keep-alive') continue;
    const m = /(?:^|[,;\s])timeout\s*=\s*(\d+)/i.exec(raw[i + 1] as string);
    if (m !== null) return Number(m[1]) * 1000 - 1000;
  }
  return Infinity;
}
