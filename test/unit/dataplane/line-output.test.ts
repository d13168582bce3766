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

  it('quick writes stay on the loop; the first slow one moves the output to the thread pool, once', async () => {
    const path = join(dir, 'slow.log');
    const fd = openSync(path, 'w');
    try {
      // The clock moves 25 ms across the second write only.
      const clock = [0, 1, 10, 35];
      let reading = 0;
      const now = (): number => clock[Math.min(reading++, clock.length - 1)] as number;
      const movedOff: number[] = [];
      const out = fdOutput(fd, false, { now, slowMs: 10, movedOff: (ms) => movedOff.push(ms) });
      /** The write's outcome, and whether its callback came before write() returned (on the loop). */
      const written = (data: string): { sync: boolean; done: Promise<Error | null> } => {
        let sync = false;
        let returned = false;
        const done = new Promise<Error | null>((resolve) =>
          out.write(data, (err) => {
            sync = !returned;
            resolve(err);
          }),
        );
        returned = true;
        return {
          get sync() {
            return sync;
          },
          done,
        };
      };
      const one = written('one\n');
      expect([one.sync, await one.done, out.offLoop]).toEqual([true, null, false]);
      const two = written('two\n');
      expect([two.sync, await two.done, out.offLoop, movedOff]).toEqual([true, null, true, [25]]);
      // From now on the thread pool writes: its callback comes on a later turn.
      const three = written('three\n');
      expect(three.sync).toBe(false);
      expect(await three.done).toBeNull();
      expect(movedOff).toEqual([25]);
      expect(readFileSync(path, 'utf8')).toBe('one\ntwo\nthree\n');
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
