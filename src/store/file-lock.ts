// The file store's owner: `<state file>.lock`, created exclusively at open and removed at close. Without it two
// veer processes on one state file would each rewrite the whole document from their own memory (every update of
// the other lost, compare-and-set meaningless) and each would delete the other's in-flight temp files at open.
//
// Who holds it is `{ pid, hostname, id }`. Liveness can only be checked for a process this one can see:
// - same hostname, a pid other than ours: alive (kill(pid, 0) succeeds or EPERM) means held; else stale.
// - same hostname and OUR pid, not held by this process: stale. A restarted container keeps its hostname and its
//   new veer is often pid 1 again, as the crashed one was; refusing would keep it down until someone removes the
//   file. (Processes that share the hostname but not the pid namespace, e.g. containers with `--network host`
//   on one volume, cannot see each other: a sibling at our pid looks like that restart, at another pid it looks
//   dead. Several veers on one state are a setup for `state.store: redis` anyway.)
// - another hostname (another container or machine on a shared volume): its liveness cannot be checked from
//   here, so it is held; the error says to remove the file if that veer is gone.
// A lock that cannot be parsed was not written by this code (it links a complete file into place): stale.
import { randomUUID } from 'node:crypto';
import { link, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { VeerError, errorMessage } from '../domain/errors.js';

export interface LockOwner {
  pid: number;
  hostname: string;
  /** Unique per acquisition: close() removes the lock only if it is still this one. */
  id: string;
}

/** Another veer (or this process) has the state file open. */
export class StateLockedError extends VeerError {
  readonly file: string;
  readonly owner: LockOwner | null;

  constructor(file: string, lock: string, owner: LockOwner, why: 'alive' | 'remote' | 'here') {
    super('state_locked', 503, lockedMessage(file, lock, owner, why));
    this.file = file;
    this.owner = owner;
  }
}

function lockedMessage(file: string, lock: string, o: LockOwner, why: 'alive' | 'remote' | 'here'): string {
  const head = `state file ${file} is in use`;
  switch (why) {
    case 'here':
      return `${head} by this process already (${lock})`;
    case 'alive':
      return (
        `${head} by another veer (pid ${o.pid}): stop it or give this one another state.path ` +
        `(if pid ${o.pid} is no veer, remove ${lock})`
      );
    case 'remote':
      return (
        `${head} by a veer on host ${o.hostname} (pid ${o.pid}), which cannot be checked from here: ` +
        `if that veer is gone, remove ${lock}`
      );
  }
}

export type Holder = { held: false } | { held: true; why: 'alive' | 'remote' | 'here' };

/** Whether the owner written in a lock still holds it, as seen from `self` (a pure decision; see the header). */
export function holderOf(
  owner: LockOwner,
  self: LockOwner,
  heldHere: boolean,
  alive: (pid: number) => boolean,
): Holder {
  if (owner.hostname !== self.hostname) return { held: true, why: 'remote' };
  if (owner.pid === self.pid) return heldHere ? { held: true, why: 'here' } : { held: false };
  return alive(owner.pid) ? { held: true, why: 'alive' } : { held: false };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to another user.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Lock paths this process holds: a second open in the same process must fail too (same pid, same host). */
const heldHere = new Set<string>();

export class FileLock {
  private released = false;

  private constructor(
    readonly path: string,
    private readonly owner: LockOwner,
  ) {}

  /** Takes `<file>.lock`, taking over a stale one; rejects with StateLockedError while another holds it. */
  static async acquire(file: string): Promise<FileLock> {
    const path = `${file}.lock`;
    const self: LockOwner = { pid: process.pid, hostname: hostname(), id: randomUUID() };
    // Bounded: each round either creates the lock, refuses, or removes one stale lock.
    for (let round = 0; round < 5; round++) {
      if (await create(path, self)) {
        heldHere.add(path);
        return new FileLock(path, self);
      }
      const text = await readLock(path);
      if (text === null) continue; // removed meanwhile: try again
      const owner = parseOwner(text);
      if (owner !== null) {
        const h = holderOf(owner, self, heldHere.has(path), pidAlive);
        if (h.held) throw new StateLockedError(file, path, owner, h.why);
      }
      // Stale. Removed only if it is still the lock judged: another starting veer may have replaced it meanwhile.
      if ((await readLock(path)) === text) await unlink(path).catch(() => undefined);
    }
    throw new Error(`cannot take the lock ${path}: it keeps changing (another veer starting at the same time?)`);
  }

  /** Removes the lock if it is still ours (never one another process took over since). */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    heldHere.delete(this.path);
    const owner = parseOwner((await readFile(this.path, 'utf8').catch(() => null)) ?? '');
    if (owner?.id === this.owner.id) await unlink(this.path).catch(() => undefined);
  }
}

const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'ENOSYS', 'EOPNOTSUPP']);

/** Creates the lock with its content in one step (a complete file linked into place); false if it exists. */
async function create(path: string, self: LockOwner): Promise<boolean> {
  const temp = `${path}-${self.id}`;
  try {
    const text = `${JSON.stringify(self)}\n`;
    await writeFile(temp, text, { flag: 'wx', mode: 0o600 });
    // A file system without hard links: still exclusive, only not written in one step.
    await link(temp, path).catch((e: NodeJS.ErrnoException) => {
      if (!NO_LINKS.has(e.code ?? '')) throw e;
      return writeFile(path, text, { flag: 'wx', mode: 0o600 });
    });
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create the lock ${path}: ${errorMessage(e)}`);
  } finally {
    await rm(temp, { force: true }).catch(() => undefined);
  }
}

/** The lock's text, or null if there is none. */
async function readLock(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`cannot read the lock ${path}: ${errorMessage(e)}`);
  }
}

function parseOwner(text: string): LockOwner | null {
  try {
    const o = JSON.parse(text) as Partial<LockOwner> | null;
    if (typeof o?.pid === 'number' && typeof o.hostname === 'string' && typeof o.id === 'string')
      return { pid: o.pid, hostname: o.hostname, id: o.id };
  } catch {
    // Not ours: treated as stale by the caller.
  }
  return null;
}
