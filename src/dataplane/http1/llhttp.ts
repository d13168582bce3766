// The llhttp instance every HTTP/1.1 parser of veer's own shares (the front's requests, the upstream
// client's responses): the WebAssembly build undici ships for its responses, instantiated once.
// llhttp_execute runs to completion, so the parser being run and its chunk are module state while it
// runs (as in undici's client); the callbacks go to that parser.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
// undici's own files (it has no exports map): its constants and the wasm build of llhttp.
export const C = require('undici/lib/llhttp/constants.js') as {
  ERROR: Record<string, number>;
  TYPE: { REQUEST: number; RESPONSE: number };
  METHODS: Record<string, number>;
};

/** What llhttp calls while it runs (0: go on; PAUSED: stop here; anything else: an error). */
export interface LlhttpCallbacks {
  onBegin(): number;
  onUrl(s: string): number;
  onField(s: string): number;
  onValue(s: string): number;
  /** A response's reason phrase (a request parser ignores it). */
  onStatus(s: string): number;
  /** `status`: a response's status code (0 for a request). */
  onHeadersComplete(upgrade: boolean, status: number): number;
  onBody(bytes: Buffer): number;
  onComplete(): number;
}

// WebAssembly as a value: the project's TypeScript libraries (no DOM) declare only its types.
interface Wasm {
  Module: new (bytes: Buffer) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

export interface Llhttp {
  memory: { buffer: ArrayBuffer };
  _initialize(): void;
  malloc(n: number): number;
  free(p: number): void;
  llhttp_alloc(type: number): number;
  llhttp_free(p: number): void;
  llhttp_execute(p: number, at: number, len: number): number;
  llhttp_finish(p: number): number;
  llhttp_resume(p: number): void;
  llhttp_get_error_pos(p: number): number;
  llhttp_get_error_reason(p: number): number;
  llhttp_get_method(p: number): number;
  llhttp_get_http_major(p: number): number;
  llhttp_get_http_minor(p: number): number;
  llhttp_should_keep_alive(p: number): number;
}

function wasmModule(): object {
  try {
    return new wasm.Module(require('undici/lib/llhttp/llhttp_simd-wasm.js') as Buffer);
  } catch {
    return new wasm.Module(require('undici/lib/llhttp/llhttp-wasm.js') as Buffer);
  }
}

let current: LlhttpCallbacks | null = null;
let chunk: Buffer = Buffer.alloc(0);
let chunkAt = 0;
const to = (): LlhttpCallbacks => current as LlhttpCallbacks;
/** Where the last span (a target, field, value or body piece) of the chunk being run ended; its start if none. */
let spanEnd = 0;
/** Bytes read past with no span, from the one before the span being reported (or the chunk's start) to it. */
let gap = 0;
const text = (at: number, len: number): string => {
  gap = at - spanEnd;
  spanEnd = at + len;
  return chunk.toString('latin1', at - chunkAt, at - chunkAt + len);
};
let L: Llhttp | null = null;
let bufSize = 0;

export function llhttp(): Llhttp {
  if (L !== null) return L;
  const instance = new wasm.Instance(wasmModule(), {
    env: {
      wasm_on_message_begin: () => to().onBegin(),
      wasm_on_url: (_p: number, at: number, len: number) => to().onUrl(text(at, len)),
      wasm_on_status: (_p: number, at: number, len: number) => to().onStatus(text(at, len)),
      wasm_on_header_field: (_p: number, at: number, len: number) => to().onField(text(at, len)),
      wasm_on_header_value: (_p: number, at: number, len: number) => to().onValue(text(at, len)),
      wasm_on_headers_complete: (_p: number, status: number, upgrade: number) =>
        to().onHeadersComplete(upgrade === 1, status),
      wasm_on_body: (_p: number, at: number, len: number) => {
        gap = at - spanEnd;
        spanEnd = at + len;
        return to().onBody(chunk.subarray(at - chunkAt, at - chunkAt + len));
      },
      wasm_on_message_complete: () => to().onComplete(),
    },
  });
  L = instance.exports as unknown as Llhttp;
  L._initialize();
  return L;
}

/** Copies `data` into the instance's memory (the buffer grows, never shrinks); returns where it starts. */
export function load(data: Buffer): number {
  const l = llhttp();
  if (data.length > bufSize) {
    if (chunkAt !== 0) l.free(chunkAt);
    bufSize = Math.ceil(data.length / 4096) * 4096;
    chunkAt = l.malloc(bufSize);
  }
  new Uint8Array(l.memory.buffer, chunkAt, data.length).set(data);
  chunk = data;
  spanEnd = chunkAt;
  return chunkAt;
}

/** In a span's callback: the bytes llhttp read with no span of their own since the one before (or chunk start). */
export function spanGap(): number {
  return gap;
}

/** The bytes from the last span of the chunk being run (or its start) to `at` (line ends, chunk-size lines...). */
export function sinceSpan(at: number): number {
  return at - spanEnd;
}

/** Tells parser `ptr` its input ended (a body read to the connection's end completes here). */
export function finish(target: LlhttpCallbacks, ptr: number): number {
  current = target;
  try {
    return llhttp().llhttp_finish(ptr);
  } finally {
    current = null;
  }
}

/** Runs parser `ptr` over `len` loaded bytes from `at`, its callbacks going to `target`. */
export function run(target: LlhttpCallbacks, ptr: number, at: number, len: number): number {
  current = target;
  try {
    return llhttp().llhttp_execute(ptr, at, len);
  } finally {
    current = null;
  }
}
