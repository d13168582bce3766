import { describe, expect, it } from 'vitest';
import { CLOSE_GOING_AWAY, FrameBoundaries } from '../../../src/dataplane/ws-frames.js';

/** One WebSocket frame (RFC 6455 §5.2) with the shortest length encoding unless `ext` forces one. */
function frame(payloadLength: number, opts: { masked?: boolean; opcode?: number; ext?: 0 | 2 | 8 } = {}): Buffer {
  const masked = opts.masked ?? false;
  const ext = opts.ext ?? (payloadLength <= 125 ? 0 : payloadLength <= 0xffff ? 2 : 8);
  const head: number[] = [0x80 | (opts.opcode ?? 0x2)];
  const maskBit = masked ? 0x80 : 0;
  if (ext === 0) head.push(maskBit | payloadLength);
  else if (ext === 2) head.push(maskBit | 126, payloadLength >> 8, payloadLength & 0xff);
  else {
    head.push(maskBit | 127);
    const hi = Math.floor(payloadLength / 2 ** 32);
    const lo = payloadLength >>> 0;
    head.push(
      (hi >>> 24) & 0xff,
      (hi >>> 16) & 0xff,
      (hi >>> 8) & 0xff,
      hi & 0xff,
      (lo >>> 24) & 0xff,
      (lo >>> 16) & 0xff,
      (lo >>> 8) & 0xff,
      lo & 0xff,
    );
  }
  if (masked) head.push(0x37, 0xfa, 0x21, 0x3d);
  // Payload bytes that look like frame headers, so a parser that lost count would misread them.
  return Buffer.concat([Buffer.from(head), Buffer.alloc(payloadLength, 0x81)]);
}

function headerLength(payloadLength: number, masked: boolean, ext?: 0 | 2 | 8): number {
  const e = ext ?? (payloadLength <= 125 ? 0 : payloadLength <= 0xffff ? 2 : 8);
  return 2 + e + (masked ? 4 : 0);
}

/** Feeds `chunks` and returns atBoundary after each one. */
function boundariesAfter(chunks: Buffer[]): boolean[] {
  const f = new FrameBoundaries();
  return chunks.map((c) => {
    f.feed(c);
    return f.atBoundary;
  });
}

const SHAPES: Array<{ name: string; length: number; ext?: 0 | 2 | 8 }> = [
  { name: 'empty, 7-bit', length: 0 },
  { name: '1 byte, 7-bit', length: 1 },
  { name: '125 bytes, the 7-bit maximum', length: 125 },
  { name: '126 bytes, 16-bit', length: 126 },
  { name: '127 bytes, 16-bit', length: 127 },
  { name: '300 bytes, 16-bit', length: 300 },
  { name: '65535 bytes, the 16-bit maximum', length: 65_535 },
  { name: '65536 bytes, 64-bit', length: 65_536 },
  { name: '70000 bytes, 64-bit', length: 70_000 },
  { name: '5 bytes, non-minimal 16-bit', length: 5, ext: 2 },
  { name: '5 bytes, non-minimal 64-bit', length: 5, ext: 8 },
];

describe('FrameBoundaries', () => {
  it('starts between frames, and an empty chunk changes nothing', () => {
    const f = new FrameBoundaries();
    expect(f.atBoundary).toBe(true);
    f.feed(Buffer.alloc(0));
    expect(f.atBoundary).toBe(true);
    f.feed(Buffer.from([0x82]));
    f.feed(Buffer.alloc(0));
    expect(f.atBoundary).toBe(false);
  });

  for (const masked of [false, true]) {
    for (const shape of SHAPES) {
      it(`${masked ? 'masked' : 'unmasked'} ${shape.name}: split anywhere, at a boundary only at the ends`, () => {
        const buf = frame(shape.length, { masked, ...(shape.ext !== undefined ? { ext: shape.ext } : {}) });
        expect(buf.length).toBe(headerLength(shape.length, masked, shape.ext) + shape.length);
        for (let k = 0; k <= buf.length; k++) {
          const [first, second] = boundariesAfter([buf.subarray(0, k), buf.subarray(k)]);
          if (first !== (k === 0 || k === buf.length))
            throw new Error(`after ${k} of ${buf.length} bytes: atBoundary ${first}`);
          if (second !== true) throw new Error(`after all ${buf.length} bytes (split at ${k}): atBoundary ${second}`);
        }
      });
    }
  }

  it('byte by byte through a stream of mixed frames: at a boundary exactly at each frame end', () => {
    const frames = [
      frame(0),
      frame(3, { masked: true }),
      frame(126),
      frame(125, { masked: true }),
      frame(2, { opcode: 0x8 }),
      frame(300, { masked: true }),
      frame(1, { ext: 8 }),
    ];
    const stream = Buffer.concat(frames);
    const ends = new Set<number>();
    let at = 0;
    for (const f of frames) ends.add((at += f.length));
    const fb = new FrameBoundaries();
    for (let i = 0; i < stream.length; i++) {
      fb.feed(stream.subarray(i, i + 1));
      if (fb.atBoundary !== ends.has(i + 1)) throw new Error(`after byte ${i + 1}: atBoundary ${fb.atBoundary}`);
    }
    expect(fb.atBoundary).toBe(true);
  });

  it('several frames in one chunk, cut at every pair of offsets', () => {
    const frames = [frame(2), frame(130, { masked: true }), frame(0, { masked: true }), frame(7, { ext: 2 })];
    const stream = Buffer.concat(frames);
    const ends = new Set<number>([0]);
    let at = 0;
    for (const f of frames) ends.add((at += f.length));
    let checked = 0;
    for (let i = 0; i <= stream.length; i++) {
      for (let j = i; j <= stream.length; j++) {
        const got = boundariesAfter([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]);
        const want = [ends.has(i), ends.has(j), true];
        if (got.join() !== want.join()) throw new Error(`cut at ${i} and ${j}: got ${got.join()}, want ${want.join()}`);
        checked++;
      }
    }
    expect(checked).toBe(((stream.length + 1) * (stream.length + 2)) / 2);
  });

  it('reads all eight bytes of a 64-bit length: a 4 GiB frame is not over after 1 MiB', () => {
    const length = 2 ** 32 + 3;
    const head = frame(0, { ext: 8 });
    // Same header, with the 64-bit length of a frame far larger than anything fed here.
    head.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    head.writeUInt32BE(length >>> 0, 6);
    const f = new FrameBoundaries();
    f.feed(head);
    expect(f.atBoundary).toBe(false);
    f.feed(Buffer.alloc(1024 * 1024, 0x81));
    expect(f.atBoundary).toBe(false);
  });

  it("counts payload bytes in a chunk that also holds the next frame's header", () => {
    const a = frame(10);
    const b = frame(200, { masked: true });
    const f = new FrameBoundaries();
    f.feed(Buffer.concat([a, b.subarray(0, 3)]));
    expect(f.atBoundary).toBe(false);
    f.feed(b.subarray(3, 8));
    expect(f.atBoundary).toBe(false);
    f.feed(b.subarray(8));
    expect(f.atBoundary).toBe(true);
  });
});

describe('CLOSE_GOING_AWAY', () => {
  it('is an unmasked, final close frame with status 1001 and no reason', () => {
    expect(CLOSE_GOING_AWAY[0]).toBe(0x88);
    expect((CLOSE_GOING_AWAY[1] as number) & 0x80).toBe(0);
    expect((CLOSE_GOING_AWAY[1] as number) & 0x7f).toBe(2);
    expect(CLOSE_GOING_AWAY.readUInt16BE(2)).toBe(1001);
    expect(CLOSE_GOING_AWAY.length).toBe(4);
  });

  it('is itself one whole frame', () => {
    const f = new FrameBoundaries();
    f.feed(CLOSE_GOING_AWAY.subarray(0, 3));
    expect(f.atBoundary).toBe(false);
    f.feed(CLOSE_GOING_AWAY.subarray(3));
    expect(f.atBoundary).toBe(true);
  });
});
