// The embedded default store: one JSON document on local disk, owned by a single veer process.
// Every write replaces the whole file atomically (temp file in the same directory, fsync, rename,
// fsync of the directory), so a crash or power loss leaves either the old or the new document and a
// put resolves only once its data is durable. Operations run one at a time, in the order they were
// called (as a Redis connection would), so concurrent puts never interleave. A lock file beside it
// (file-lock.ts) keeps a second veer process from opening it meanwhile.
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { KeyedQueue } from '../domain/async.js';
import { UnavailableError, VeerError, errorMessage } from '../domain/errors.js';
import { FileLock } from './file-lock.js';
import { decidePut, type PutResult, type StateStore, type Versioned } from './port.js';

const FORMAT = 1;
const TEMP_MARK = '.tmp-';
/** Every operation shares one queue: the whole document is one unit of writing. */
const DOCUMENT = 'document';

type Entries = ReadonlyMap<string, Versioned<unknown>>;

/** The state file exists but cannot be read or understood; veer must not silently start empty. */
export class StateCorruptError extends VeerError {
  readonly file: string;

  constructor(file: string, problem: string) {
    super(
      'state_corrupt',
      500,
      `state file ${file} is unreadable or corrupt: ${problem}. ` +
        'Repair it or move it aside (veer starts with empty state when the file is absent).',
    );
    this.file = file;
  }
}

export class FileStore implements StateStore {
  private entries: Entries;
  private readonly queue = new KeyedQueue();
  private closed = false;
  private tempSeq = 0;

  private constructor(
    readonly path: string,
    entries: Entries,
    private readonly lock: FileLock,
  ) {
    this.entries = entries;
  }

  /**
   * Creates parent directories; rejects with StateLockedError while another process has the file open,
   * with StateCorruptError if an existing file can't be used.
   */
  static async open(path: string): Promise<FileStore> {
    const file = resolve(path);
    await mkdir(dirname(file), { recursive: true });
    const lock = await FileLock.acquire(file);
    try {
      // Only under the lock: another live process's temp files are its writes in flight.
      await removeLeftoverTemps(file);
      return new FileStore(file, await readEntries(file), lock);
    } catch (e) {
      await lock.release();
      throw e;
    }
  }

  get<T>(key: string): Promise<Versioned<T> | null> {
    return this.enqueue(() => {
      const e = this.entries.get(key);
      return e ? { value: structuredClone(e.value) as T, version: e.version } : null;
    });
  }

  put<T>(key: string, value: T, expectedVersion?: number): Promise<PutResult> {
    return this.enqueue(async () => {
      const decision = decidePut(this.entries.get(key)?.version ?? 0, expectedVersion);
      if (!decision.ok) return decision;
      const next = new Map(this.entries);
      next.set(key, { value: jsonCopy(value), version: decision.version });
      await this.commit(next);
      return decision;
    });
  }

  delete(key: string): Promise<void> {
    return this.enqueue(async () => {
      if (!this.entries.has(key)) return;
      const next = new Map(this.entries);
      next.delete(key);
      await this.commit(next);
    });
  }

  keys(prefix: string): Promise<string[]> {
    return this.enqueue(() => [...this.entries.keys()].filter((k) => k.startsWith(prefix)).sort());
  }

  async close(): Promise<void> {
    this.closed = true;
    // Queued behind every operation already accepted: resolves once they have all finished.
    await this.queue.run(DOCUMENT, async () => undefined);
    await this.lock.release();
  }

  /** In call order, one at a time; a failed write does not stall the operations queued behind it. */
  private enqueue<R>(op: () => R | Promise<R>): Promise<R> {
    if (this.closed) return Promise.reject(new UnavailableError('state store is closed'));
    return this.queue.run(DOCUMENT, async () => op());
  }

  /** Memory is updated only after the disk write succeeded, so a failed write changes nothing. */
  private async commit(next: Entries): Promise<void> {
    const doc = { format: FORMAT, entries: Object.fromEntries(next) };
    const temp = `${this.path}${TEMP_MARK}${process.pid}-${++this.tempSeq}`;
    try {
      await writeDurably(temp, this.path, `${JSON.stringify(doc)}\n`);
    } catch (e) {
      await rm(temp, { force: true }).catch(() => undefined);
      throw new UnavailableError(`cannot write state file ${this.path}: ${errorMessage(e)}`);
    }
    this.entries = next;
  }
}

async function writeDurably(temp: string, file: string, data: string): Promise<void> {
  const fh = await open(temp, 'wx', 0o600);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(temp, file);
  await syncDirectory(dirname(file));
}

/** The rename is durable only once the directory entry is. */
async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } catch (e) {
    // Some platforms and file systems refuse fsync on a directory; the rename is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM' && code !== 'ENOTSUP') throw e;
  } finally {
    await fh.close();
  }
}

/** A crash between writing a temp file and renaming it leaves the temp file behind; it was never acknowledged. */
async function removeLeftoverTemps(file: string): Promise<void> {
  const prefix = `${basename(file)}${TEMP_MARK}`;
  const names = await readdir(dirname(file)).catch(() => [] as string[]);
  await Promise.all(names.filter((n) => n.startsWith(prefix)).map((n) => rm(join(dirname(file), n), { force: true })));
}

async function readEntries(file: string): Promise<Entries> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new Map();
    throw new StateCorruptError(file, `cannot read it (${code ?? errorMessage(e)})`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new StateCorruptError(file, text.trim() === '' ? 'the file is empty' : `not valid JSON (${errorMessage(e)})`);
  }
  const decoded = decodeDocument(doc);
  if (typeof decoded === 'string') throw new StateCorruptError(file, decoded);
  return decoded;
}

/** The entries of a state document, or what is wrong with it. */
function decodeDocument(doc: unknown): Entries | string {
  if (!isRecord(doc)) return 'expected a JSON object';
  if (doc.format !== FORMAT)
    return `unsupported format ${JSON.stringify(doc.format)} (this veer reads format ${FORMAT})`;
  if (!isRecord(doc.entries)) return '"entries" must be an object';
  const entries = new Map<string, Versioned<unknown>>();
  for (const [key, e] of Object.entries(doc.entries)) {
    if (!isRecord(e) || !('value' in e))
      return `entry ${JSON.stringify(key)} must be an object with "value" and "version"`;
    if (typeof e.version !== 'number' || !Number.isInteger(e.version) || e.version < 1) {
      return `entry ${JSON.stringify(key)} has an invalid version ${JSON.stringify(e.version)}`;
    }
    entries.set(key, { value: e.value, version: e.version });
  }
  return entries;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Stored values are exactly what a reopen would read back, and detached from the caller's object. */
function jsonCopy(value: unknown): unknown {
  const text = JSON.stringify(value);
  if (text === undefined) throw new TypeError('state values must be JSON-serializable');
  return JSON.parse(text) as unknown;
}
