// Access lines on a pipe shared by several workers: each write(2) carries whole lines and at most
// PIPE_BUF bytes, so the kernel never interleaves another process's bytes inside a line.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PIPE_ATOMIC_BYTES, pipeChunks, streamOutput } from '../../../src/dataplane/line-output.js';

const lines = (n: number, width: (i: number) => number): string =>
  Array.from({ length: n }, (_, i) => `${'é'.repeat(width(i))}\n`).join('');

describe('pipeChunks', () => {
  it('keeps a small batch whole', () => {
    expect(pipeChunks('a\nb\n')).toEqual(['a\nb\n']);
  });

  it('cuts a large batch at line boundaries into pieces of at most 4096 bytes', () => {
    const batch = lines(200, (i) => (i * 13) % 300);
    const pieces = pipeChunks(batch);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(batch);
    for (const p of pieces) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(PIPE_ATOMIC_BYTES);
      expect(p.endsWith('\n')).toBe(true);
    }
  });

  it('writes a line longer than the bound alone', () => {
    const long = `${'x'.repeat(5_000)}\n`;
    expect(pipeChunks(`a\n${long}b\n`)).toEqual(['a\n', long, 'b\n']);
  });
});

describe('streamOutput', () => {
  it('hands the stream one piece per write and reports once', async () => {
    const stream = new PassThrough();
    const writes: number[] = [];
    stream.on('data', (c: Buffer) => writes.push(c.length));
    const batch = lines(100, () => 90);
    const err = await new Promise<Error | null>((resolve) => streamOutput(stream).write(batch, resolve));
    expect(err).toBeNull();
    expect(writes.length).toBe(pipeChunks(batch).length);
    expect(Math.max(...writes)).toBeLessThanOrEqual(PIPE_ATOMIC_BYTES);
  });
});
