// Access lines on a pipe shared by several workers: each write(2) carries whole lines and at most
// PIPE_BUF bytes, so the kernel never interleaves another process's bytes inside a line.
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { PIPE_ATOMIC_BYTES, pipeChunks, streamOutput } from '../../../src/dataplane/line-output.js';

const lines = (n: number, width: (i: number) => number): string =>
  Array.from({ length: n }, (_, i) => `${'é'.repeat(width(i))}\n`).join('');
const chunks = (s: string): string[] => pipeChunks(Buffer.from(s)).map((b) => b.toString());

describe('pipeChunks', () => {
  it('keeps a small batch whole', () => {
    expect(chunks('a\nb\n')).toEqual(['a\nb\n']);
  });

  it('cuts a large batch at line boundaries into pieces of at most 4096 bytes', () => {
    const batch = lines(200, (i) => (i * 13) % 300);
    const pieces = chunks(batch);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(batch);
    for (const p of pieces) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(PIPE_ATOMIC_BYTES);
      expect(p.endsWith('\n')).toBe(true);
    }
  });

  it('writes a line longer than the bound alone', () => {
    const long = `${'x'.repeat(5_000)}\n`;
    expect(chunks(`a\n${long}b\n`)).toEqual(['a\n', long, 'b\n']);
  });
});

describe('streamOutput', () => {
  const written = async (shared: boolean, batch: string): Promise<{ err: Error | null; writes: Buffer[] }> => {
    const stream = new PassThrough();
    const writes: Buffer[] = [];
    stream.on('data', (c: Buffer) => writes.push(c));
    const err = await new Promise<Error | null>((resolve) => streamOutput(stream, shared).write(batch, resolve));
    return { err, writes };
  };

  it('shared with other processes: hands the stream one piece per write and reports once', async () => {
    const batch = lines(100, () => 90);
    const { err, writes } = await written(true, batch);
    expect(err).toBeNull();
    expect(writes.length).toBe(chunks(batch).length);
    expect(writes.length).toBeGreaterThan(1);
    expect(Math.max(...writes.map((w) => w.length))).toBeLessThanOrEqual(PIPE_ATOMIC_BYTES);
    expect(Buffer.concat(writes).toString()).toBe(batch);
  });

  it('alone: writes the batch at once', async () => {
    const batch = lines(100, () => 90);
    const { err, writes } = await written(false, batch);
    expect(err).toBeNull();
    expect(writes.length).toBe(1);
    expect(Buffer.concat(writes).toString()).toBe(batch);
  });
});
