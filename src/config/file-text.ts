// Reads a file the operator named (the config file, a `simulate --policy` file) as text, bounded in bytes
// and, for a pipe, in time: a FIFO would otherwise wait for a writer forever, /dev/zero never ends, and a
// huge file would exhaust memory. Failures are a few plain words, never an errno string.
import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { err, ok, type Result } from '../domain/errors.js';
import { fsProblem } from '../domain/fs-error.js';

const MIB = 1024 * 1024;
/** How long a pipe may keep the reader waiting for its next bytes. */
const STREAM_WAIT_MS = 10_000;
const PIPE_POLL_MS = 20;
/** Far above any real config (thousands of services fit in a few hundred KiB). */
export const MAX_TEXT_FILE_BYTES = 4 * MIB;

export async function readTextFile(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<Result<string, string>> {
  let handle: FileHandle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise block until something opens it for writing.
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return err(fsProblem((e as NodeJS.ErrnoException).code));
  }
  try {
    const stats = await handle.stat();
    // A directory keeps the words describeFsError gave it (EISDIR) before this reader existed.
    if (stats.isDirectory()) return err('it is a directory');
    // A pipe is read too (`-c /dev/stdin`, `-c <(envsubst < t.yaml)`), and a character device, within the same
    // bounds: /dev/zero stops at the size limit, a pipe nobody writes to at STREAM_WAIT_MS.
    const stream = stats.isFIFO() || stats.isCharacterDevice();
    if (!stats.isFile() && !stream) return err(`not a regular file (${kindOf(stats)})`);
    const limit = `it is larger than ${maxBytes / MIB} MiB, the most read`;
    if (stats.size > maxBytes) return err(limit);
    const bytes = await readAtMost(handle, maxBytes + 1, stream ? Date.now() + STREAM_WAIT_MS : 0);
    if (bytes === null)
      return err(`nothing more came from it within ${STREAM_WAIT_MS / 1000}s (a pipe with no writer?)`);
    return bytes.length > maxBytes ? err(limit) : ok(bytes.toString('utf8'));
  } catch (e) {
    return err(fsProblem((e as NodeJS.ErrnoException).code));
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * The file may grow while it is read: never more than `max` bytes. `until` (a pipe's deadline, 0: a file):
 * the handle is non-blocking, so a pipe with nothing to read yet says EAGAIN, and is asked again until then
 * (null: the deadline passed).
 */
async function readAtMost(handle: FileHandle, max: number, until: number): Promise<Buffer | null> {
  const buf = Buffer.alloc(Math.min(max, 64 * 1024));
  const chunks: Buffer[] = [];
  let total = 0;
  // Bounded: each round reads at least one byte, ends, or waits a tick towards `until`; it stops at `max`.
  while (total < max) {
    const bytesRead = await readSome(handle, buf, Math.min(buf.length, max - total));
    if (bytesRead === null) {
      if (Date.now() > until) return null;
      await new Promise((r) => setTimeout(r, PIPE_POLL_MS));
      continue;
    }
    if (bytesRead === 0) break;
    chunks.push(Buffer.from(buf.subarray(0, bytesRead)));
    total += bytesRead;
  }
  return Buffer.concat(chunks);
}

/** Bytes read; null: nothing to read yet (EAGAIN on a non-blocking pipe). */
async function readSome(handle: FileHandle, buf: Buffer, n: number): Promise<number | null> {
  try {
    return (await handle.read(buf, 0, n, null)).bytesRead;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return null;
    throw e;
  }
}

/**
 * A file veer reads while it runs, or checks synchronously (a certificate, a key, a CA bundle, known_hosts):
 * a regular file of at most `maxBytes`, or a plain reason. A pipe there would block the event loop until a
 * writer came, and /dev/zero would fill memory; no one names those for a certificate on purpose.
 */
export function readRegularFileSync(path: string, maxBytes = MAX_TEXT_FILE_BYTES): Result<Buffer, string> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return err(fsProblem((e as NodeJS.ErrnoException).code));
  }
  try {
    const stats = fstatSync(fd);
    if (stats.isDirectory()) return err('it is a directory');
    if (!stats.isFile()) return err(`not a regular file (${kindOf(stats)})`);
    if (stats.size > maxBytes) return err(`it is larger than ${maxBytes / MIB} MiB, the most read`);
    // The size read above bounds the buffer; a file that grew since is cut there and fails as the PEM it is not.
    const buf = Buffer.alloc(stats.size);
    let total = 0;
    for (let n = 1; n > 0 && total < buf.length; total += n) n = readSync(fd, buf, total, buf.length - total, null);
    return ok(buf.subarray(0, total));
  } catch (e) {
    return err(fsProblem((e as NodeJS.ErrnoException).code));
  } finally {
    closeSync(fd);
  }
}

function kindOf(s: Stats): string {
  if (s.isFIFO()) return 'a named pipe';
  if (s.isSocket()) return 'a socket';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  return 'not a file';
}
