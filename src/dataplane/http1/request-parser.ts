// HTTP/1.1 requests read from a connection's bytes by llhttp, the parser node:http itself uses, here
// in the WebAssembly build undici ships for its responses, strict as Node's (no lenient flag is set:
// Content-Length with Transfer-Encoding, bare LF, obs-fold, bad chunk sizes are all errors).
//
// It only reads what a front of veer's own serves: a request whose head it could read whole, within
// the header limit, that asks for no protocol switch and states no Expect. Everything else it hands back as bytes, from
// the first byte of that request on (`refer`), so node:http can read that request itself and answer
// it exactly as it answers today (400, 431, upgrades...). To know where each request begins, it
// pauses llhttp at the end of every message and resumes from there.
import { FieldList, hasExpect, trimmedValues } from './field-list.js';
import { C, llhttp, load, run, sinceSpan, spanGap, type LlhttpCallbacks } from './llhttp.js';

/** Bytes a head may take beyond the header limit's count (its line ends, separators, whitespace). */
const HEAD_SLACK = 16 * 1024;
/** Reads of one request kept apart before they are copied into one (a Buffer costs ~100 bytes of its own). */
const MAX_PIECES = 16;
// Bytes of a chunked body between pieces of its data or trailer (a chunk-size line, its extensions, line ends):
// node:http refuses more than 16 KiB of one chunk's extensions (their names and values; this counts the line).
const MAX_UNSPANNED = 16 * 1024 + 64;
const PAUSED = C.ERROR.PAUSED as number;
const OK = C.ERROR.OK as number;
const METHOD_NAMES: string[] = [];
for (const [name, n] of Object.entries(C.METHODS)) METHOD_NAMES[n] = name.replace('_', '-');

export interface RequestHead {
  method: string;
  url: string;
  versionMajor: number;
  versionMinor: number;
  /** Names as sent, name and value alternating. */
  rawHeaders: string[];
  keepAlive: boolean;
}

/** What the connection does with each request the parser reads. */
export interface ParsedRequests {
  /** The first byte of a request (its head's and body's time bounds start here). */
  begin(): void;
  /** A whole head. False: node:http should read this request instead (it is handed back by `feed`). */
  head(head: RequestHead): boolean;
  body(chunk: Buffer): void;
  complete(): void;
}

export type FeedResult =
  | { kind: 'more' }
  /** node:http reads on from `bytes`: the first byte of the request it should read, then what followed. */
  | { kind: 'refer'; bytes: Buffer }
  /**
   * The body of a request already handed over broke off (`reason` is llhttp's; `refusal`: the answer due, as
   * node:http's). `bytes`: that request's own bytes from its first on, while no byte of its body was handed
   * over yet (node:http can still read it whole, if the connection did not start it); null after.
   */
  | { kind: 'broken'; reason: string; bytes: Buffer | null; refusal: BodyRefusal }
  /** A request said the connection closes after it: what follows is never read (RFC 9112 §9.6). */
  | { kind: 'closed' };

/** Too much that is no body data (extensions, whitespace), or trailer fields past the header limit. */
export type BodyRefusal = 'bad_request' | 'headers_too_large';

/** One connection's requests, in order. */
export class RequestParser implements LlhttpCallbacks {
  private ptr: number;
  private url = '';
  /** The head's fields; its count includes the url (as node:http's maxHeaderSize counts). */
  private readonly fields: FieldList;
  /** In a body handed over: errors after this point are that body's. */
  private inBody = false;
  /** The head is being read, or was refused: `referred` stops the run. */
  private referred = false;
  private ended = false;
  /** No byte of the current request's body was handed over: its bytes are still kept. */
  private keeping = true;
  /** Bytes of the current request read in earlier chunks (handed back with it if it is referred). */
  private earlier: Buffer[] = [];
  private earlierBytes = 0;
  /** In a body: bytes since its last data or trailer field that were neither (see MAX_UNSPANNED). */
  private unspanned = 0;
  /** A chunked body's trailer fields, counted against the header limit as node:http counts them. */
  private trailerBytes = 0;
  private refusal: BodyRefusal = 'bad_request';

  constructor(
    private readonly to: ParsedRequests,
    private readonly maxHeaderSize: number,
  ) {
    this.fields = new FieldList(maxHeaderSize);
    this.ptr = llhttp().llhttp_alloc(C.TYPE.REQUEST);
  }

  /** Reads `data`; see FeedResult. Called no more after anything but `more`. */
  feed(data: Buffer): FeedResult {
    const l = llhttp();
    const base = load(data);
    let from = 0; // where the current request began in `data`
    let offset = 0;
    for (let runs = 0; runs <= data.length; runs++) {
      const ret = run(this, this.ptr, base + offset, data.length - offset);
      if (ret === OK) break;
      const at = l.llhttp_get_error_pos(this.ptr) - base;
      if (ret === PAUSED && !this.referred) {
        // The end of a message (its last chunk's line as long as any other may be): the next one begins here.
        if (this.unspanned + sinceSpan(base + at) > MAX_UNSPANNED) return this.longLine(data, from);
        this.to.complete();
        if (this.ended) return { kind: 'closed' };
        this.earlier = [];
        this.earlierBytes = 0;
        this.keeping = true;
        from = offset = at;
        l.llhttp_resume(this.ptr);
        continue;
      }
      const own = this.keeping ? Buffer.concat([...this.earlier, data.subarray(from)]) : null;
      if (this.inBody && !this.referred) return this.broken(this.reason(), own);
      return { kind: 'refer', bytes: own as Buffer };
    }
    // What of a body after its last data or trailer field counts on into the next read.
    if (this.inBody && (this.unspanned += sinceSpan(base + data.length)) > MAX_UNSPANNED) {
      return this.longLine(data, from);
    }
    if (!this.keeping || from === data.length) return { kind: 'more' };
    const rest = from === 0 ? data : data.subarray(from);
    // A head sent in many small reads is kept in few Buffers: each costs far more than a byte's worth.
    if (this.earlier.length === MAX_PIECES) this.earlier = [Buffer.concat(this.earlier)];
    this.earlier.push(rest);
    this.earlierBytes += rest.length;
    // What llhttp skips uncounted (whitespace around values) is kept too, up to a bound: past it, a head goes to
    // node:http, and a request already handed over just stops being kept.
    if (this.earlierBytes > this.maxHeaderSize + HEAD_SLACK) {
      if (!this.inBody) return { kind: 'refer', bytes: Buffer.concat(this.earlier) };
      this.keeping = false;
      this.earlier = [];
    }
    return { kind: 'more' };
  }

  close(): void {
    if (this.ptr !== 0) llhttp().llhttp_free(this.ptr);
    this.ptr = 0;
  }

  private broken(reason: string, bytes: Buffer | null): FeedResult {
    return { kind: 'broken', reason, bytes, refusal: this.refusal };
  }

  /** Too many bytes of a body were no data (see MAX_UNSPANNED). */
  private longLine(data: Buffer, from: number): FeedResult {
    const own = this.keeping ? Buffer.concat([...this.earlier, data.subarray(from)]) : null;
    return this.broken('chunk line too long', own);
  }

  private reason(): string {
    const l = llhttp();
    const at = l.llhttp_get_error_reason(this.ptr);
    if (at === 0) return 'parse error';
    const bytes = new Uint8Array(l.memory.buffer, at);
    return Buffer.from(bytes.subarray(0, Math.max(0, bytes.indexOf(0)))).toString('latin1');
  }

  /** @internal The callbacks llhttp calls (0: go on; -1: an error; PAUSED: stop here). */
  onBegin(): number {
    this.to.begin();
    this.url = '';
    this.fields.reset();
    this.inBody = false;
    this.unspanned = this.trailerBytes = 0;
    return 0;
  }

  /** @internal */
  onUrl(s: string): number {
    this.url += s;
    return this.fields.count(s.length);
  }

  /** @internal A name or a value split across two reads arrives in two calls. */
  onField(s: string): number {
    // A chunked body's trailer fields: not the request's header fields (node:http keeps them apart too).
    return this.inBody ? this.trailer(s.length) : this.fields.name(s);
  }

  /** @internal */
  onValue(s: string): number {
    return this.inBody ? this.trailer(s.length) : this.fields.value(s);
  }

  /** A trailer field's name or value: counted against the header limit (431 past it, as node:http's). */
  private trailer(n: number): number {
    if (this.spanned() !== 0) return -1;
    this.trailerBytes += n;
    if (this.trailerBytes <= this.maxHeaderSize) return 0;
    this.refusal = 'headers_too_large';
    return -1;
  }

  /** A body's data or trailer field: what came since the last one was not too long (0), or it was (-1). */
  private spanned(): number {
    const unspanned = this.unspanned + spanGap();
    this.unspanned = 0;
    return unspanned <= MAX_UNSPANNED ? 0 : -1;
  }

  /** @internal */
  onStatus(): number {
    return 0;
  }

  /** @internal */
  onHeadersComplete(upgrade: boolean): number {
    const l = llhttp();
    const raw = this.fields.raw;
    if (upgrade || hasExpect(raw)) return this.refer();
    const head: RequestHead = {
      method: METHOD_NAMES[l.llhttp_get_method(this.ptr)] ?? 'GET',
      url: this.url,
      versionMajor: l.llhttp_get_http_major(this.ptr),
      versionMinor: l.llhttp_get_http_minor(this.ptr),
      rawHeaders: trimmedValues(raw),
      keepAlive: l.llhttp_should_keep_alive(this.ptr) === 1,
    };
    if (!this.to.head(head)) return this.refer();
    this.inBody = true;
    this.ended = !head.keepAlive;
    return 0;
  }

  private refer(): number {
    this.referred = true;
    return PAUSED;
  }

  /** @internal */
  onBody(bytes: Buffer): number {
    if (this.spanned() !== 0) return -1;
    if (this.keeping) {
      this.keeping = false;
      this.earlier = [];
      this.earlierBytes = 0;
    }
    this.to.body(bytes);
    return 0;
  }

  /** @internal */
  onComplete(): number {
    // `feed` tells the connection once it checked the message's end.
    this.inBody = false;
    return PAUSED;
  }
}
