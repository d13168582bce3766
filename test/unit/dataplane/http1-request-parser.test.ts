// veer's own HTTP/1.1 request parser (src/dataplane/http1/request-parser.ts) beyond what
// test/integration/dataplane/http1-parser.test.ts holds to node:http: what a head it keeps costs while it comes.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { RequestParser, type FeedResult } from '../../../src/dataplane/http1/request-parser.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ignoring = { begin() {}, head: () => true, body() {}, complete() {} };

/** Bytes the process holds (heap and Buffers), after collecting what it can. */
function held(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

describe("veer's HTTP/1.1 request parser", () => {
  it('keeps a head sent one byte per read in about its own size, and hands it back whole', () => {
    const connections = 20;
    const reads = 16_000;
    const start = 'GET / HTTP/1.1\r\nHost: a\r\nX-A:';
    const before = held();
    const parsers = Array.from({ length: connections }, () => new RequestParser(ignoring, 16_384));
    const kinds = new Set<FeedResult['kind']>();
    for (const p of parsers) {
      kinds.add(p.feed(Buffer.from(start)).kind);
      // Whitespace llhttp skips without counting it, each byte in a read of its own (as a socket hands them).
      for (let i = 0; i < reads; i++) kinds.add(p.feed(Buffer.alloc(1, 32)).kind);
    }
    const grown = held() - before;
    expect([...kinds]).toEqual(['more']);
    // The heads' bytes are 20 × 16 kB = 320 kB; a Buffer per read cost ~200 bytes per byte (64 MB here).
    expect(grown).toBeLessThan(connections * reads * 8);
    // A byte llhttp refuses hands the head back to node:http: every byte of it, in order.
    const back = parsers.map((p) => p.feed(Buffer.from('\0')));
    for (const p of parsers) p.close();
    const whole = Buffer.concat([Buffer.from(start), Buffer.alloc(reads, 32), Buffer.from('\0')]);
    for (const r of back) expect(r.kind === 'refer' && r.bytes.equals(whole)).toBe(true);
  });
});
