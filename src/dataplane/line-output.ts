// Where access lines go: a stream veer already has (stdout, stderr), or a file opened in append mode
// and reopened on demand (log rotation: the old file was renamed, the next write goes to a new one).
// Writes and reopens are serialized, so a line goes to exactly one file and none is written twice.
import { fstatSync, write as fdWrite, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Writable } from 'node:stream';

export interface LineOutput {
  /** One write at a time: the next comes after `done`. */
  write(data: string, done: (err: Error | null) => void): void;
  reopen(): void;
  close(): Promise<void>;
}

/** What a pipe takes in one write(2) without another writer's bytes in between (PIPE_BUF on Linux). */
export const PIPE_ATOMIC_BYTES = 4096;

const NL = 0x0a;

/**
 * A batch of lines cut at line boundaries into pieces of at most `max` bytes (a longer line alone):
 * several processes (workers) writing to one stdout never interleave in the middle of a line. The
 * batch is encoded once and cut by searching for newline bytes (a split into lines measured ~1 µs
 * per request at full load).
 */
export function pipeChunks(data: Buffer, max = PIPE_ATOMIC_BYTES): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  // Each round takes at least one byte, so it ends.
  while (data.length - at > max) {
    let end = data.lastIndexOf(NL, at + max - 1);
    if (end < at) end = data.indexOf(NL, at + max);
    if (end === -1) break;
    out.push(data.subarray(at, end + 1));
    at = end + 1;
  }
  if (at < data.length) out.push(data.subarray(at));
  return out;
}

/**
 * `shared`: other processes (workers) write to the same stream, so each write carries whole lines of
 * at most PIPE_BUF bytes. A process alone writes each batch at once.
 */
export function streamOutput(stream: Writable, shared: boolean): LineOutput {
  // A closed pipe must not crash veer: the error reaches `done` through the write callback too.
  const ignore = (): void => undefined;
  stream.on('error', ignore);
  return {
    write: (data, done) => {
      if (!shared) return void stream.write(data, (err) => done(err ?? null));
      const pieces = pipeChunks(Buffer.from(data));
      let failed: Error | null = null;
      pieces.forEach((p, i) =>
        stream.write(p, (err) => {
          failed ??= err ?? null;
          if (i === pieces.length - 1) done(failed);
        }),
      );
    },
    reopen: () => undefined,
    close: async () => {
      stream.off('error', ignore);
    },
  };
}

/** A write to a file that takes longer than this moves that output off the event loop for good. */
export const SLOW_WRITE_MS = 10;

export interface FdOutputOptions {
  /** A monotonic clock (ms). */
  now?: () => number;
  slowMs?: number;
  /** Told once, when a write took `ms` and the output moved off the loop. */
  movedOff?: (ms: number) => void;
}

/**
 * Standard output or error as veer found it. Node writes a file synchronously on the event loop, and a
 * slow disk (or the kernel's writeback) would stall every request: a file goes to fdOutput. A pipe or
 * socket, which Node writes asynchronously, keeps the stream; so does a terminal (interactive use, and
 * Node may have made its descriptor non-blocking).
 */
export function standardOutput(stream: Writable & { fd: number }, shared: boolean, o?: FdOutputOptions): LineOutput {
  return isFile(stream.fd) ? fdOutput(stream.fd, shared, o) : streamOutput(stream, shared);
}

function isFile(fd: number): boolean {
  try {
    return fstatSync(fd).isFile();
  } catch {
    return false; // a closed descriptor: the stream reports its errors
  }
}

/**
 * Writes to a file descriptor veer does not own (never closed here), at its current offset (as a shell's `>` or
 * `>>` set it); `shared` as for streamOutput. On the event loop while writes are quick: handing each batch to the
 * thread pool measured 0.2-0.5 ms more paced p99 with veer pinned to one core (the pool's thread shares it). The
 * first write slower than `slowMs` moves the output to the thread pool for good: one stall, never a second.
 */
export function fdOutput(fd: number, shared: boolean, o: FdOutputOptions = {}): LineOutput & { offLoop: boolean } {
  const now = o.now ?? ((): number => performance.now());
  const out = {
    offLoop: false,
    write: (data: string, done: (err: Error | null) => void): void => {
      const whole = Buffer.from(data);
      const pieces = shared ? pipeChunks(whole) : [whole];
      if (out.offLoop) return writeAll(fd, pieces, 0, done);
      const start = now();
      let failed: Error | null = null;
      try {
        for (const p of pieces) for (let at = 0; at < p.length;) at += writeSync(fd, p, at);
      } catch (e) {
        failed = e instanceof Error ? e : new Error(String(e));
      }
      const took = now() - start;
      if (took > (o.slowMs ?? SLOW_WRITE_MS)) {
        out.offLoop = true;
        o.movedOff?.(took);
      }
      done(failed);
    },
    reopen: (): void => undefined,
    close: async (): Promise<void> => undefined,
  };
  return out;
}

/** One piece after another, each to its end (a write may take part of a piece: a full disk's last bytes). */
function writeAll(fd: number, pieces: Buffer[], at: number, done: (err: Error | null) => void): void {
  const piece = pieces[0];
  if (piece === undefined) return done(null);
  fdWrite(fd, piece, at, piece.length - at, null, (err, n) => {
    if (err) return done(err);
    if (at + n < piece.length) return writeAll(fd, pieces, at + n, done);
    writeAll(fd, pieces.slice(1), 0, done);
  });
}

export class FileOutput implements LineOutput {
  private fd: Promise<FileHandle> | null = null;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  write(data: string, done: (err: Error | null) => void): void {
    this.chain = this.chain
      .then(async () => {
        const fd = await (this.fd ??= openAppend(this.path));
        const buf = Buffer.from(data);
        // A regular file takes it in one write; the loop is for the rare short write.
        for (let at = 0; at < buf.length;) at += (await fd.write(buf, at)).bytesWritten;
      })
      .then(
        () => done(null),
        (e: unknown) => {
          // A failed open is tried again at the next write.
          this.fd = null;
          done(e instanceof Error ? e : new Error(String(e)));
        },
      );
  }

  /** The next write goes to whatever is at the path now; opened at once, so the new file exists. */
  reopen(): void {
    this.chain = this.chain
      .then(async () => {
        const old = this.fd;
        this.fd = openAppend(this.path);
        // A path that cannot be opened now is tried again at the next write.
        await this.fd.catch(() => (this.fd = null));
        if (old !== null) await closeQuietly(old);
      })
      .catch(() => undefined);
  }

  async close(): Promise<void> {
    await this.chain.catch(() => undefined);
    const fd = this.fd;
    this.fd = null;
    if (fd !== null) await closeQuietly(fd);
  }
}

function openAppend(path: string): Promise<FileHandle> {
  return open(path, 'a');
}

function closeQuietly(fd: Promise<FileHandle>): Promise<void> {
  return fd.then((h) => h.close()).catch(() => undefined);
}
