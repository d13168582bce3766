// Access lines on a pipe shared by several workers: each write(2) carries whole lines and at most
// PIPE_BUF bytes, so the kernel never interleaves another process's bytes inside a line. Standard output
// that is a file is written on its descriptor from the thread pool (Node's stream would write it on the loop).
import { execFileSync } from 'node:child_process';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import {
  fdOutput,
  PIPE_ATOMIC_BYTES,
  pipeChunks,
  standardOutput,
  streamOutput,
  type LineOutput,
} from '../../../src/dataplane/line-output.js';

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

describe('standardOutput', () => {
  const dir = mkdtempSync(join(tmpdir(), 'veer-line-output-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (out: LineOutput, data: string): Promise<Error | null> =>
    new Promise((resolve) => out.write(data, resolve));
  /** A stream standing for stdout on `fd`: what it is handed shows whether the stream or the descriptor wrote. */
  const standIn = (fd: number): { stream: PassThrough & { fd: number }; got: Buffer[] } => {
    const stream = Object.assign(new PassThrough(), { fd });
    const got: Buffer[] = [];
    stream.on('data', (c: Buffer) => got.push(c));
    return { stream, got };
  };

  it.each([false, true])(
    'a file (shared %s): written on the descriptor at its offset, not through the stream',
    async (shared) => {
      const path = join(dir, `file-${String(shared)}.log`);
      writeFileSync(path, 'before\n');
      // As a shell's `>>` opens it; the descriptor's own offset is where the lines go.
      const fd = openSync(path, 'a');
      try {
        const { stream, got } = standIn(fd);
        const out = standardOutput(stream, shared);
        const batch = lines(100, (i) => 40 + (i % 50));
        expect(await write(out, batch)).toBeNull();
        expect(await write(out, 'last\n')).toBeNull();
        expect(got).toEqual([]);
        expect(readFileSync(path, 'utf8')).toBe(`before\n${batch}last\n`);
        await out.close();
        expect(fstatSync(fd).isFile()).toBe(true); // not veer's to close
      } finally {
        closeSync(fd);
      }
    },
  );

  it('a pipe keeps the stream (Node writes it asynchronously)', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, 'r+'); // read and write: opening does not wait for a reader
    try {
      const { stream, got } = standIn(fd);
      expect(await write(standardOutput(stream, false), 'one\n')).toBeNull();
      expect(Buffer.concat(got).toString()).toBe('one\n');
    } finally {
      closeSync(fd);
    }
  });

  it('a descriptor that fails: the error reaches the callback, nothing throws', async () => {
    const path = join(dir, 'closed.log');
    const fd = openSync(path, 'a');
    const out = fdOutput(fd, false);
    closeSync(fd);
    const err = await write(out, 'lost\n');
    expect(err).toBeInstanceOf(Error);
    expect((err as NodeJS.ErrnoException).code).toBe('EBADF');
  });
});
