// The file store's owner: `<state file>.lock`, created exclusively at open and removed at close. Without it two
// veer processes on one state file would each rewrite the whole document from their own memory (every update of
// the other lost, compare-and-set meaningless) and each would delete the other's in-flight temp files at open.
//
// Who holds it is `{ pid, hostname, box, pidns, id }`. `box` tells containers apart that share a hostname (with
// `--network host` they all have the host's): the source of the container's /etc/hostname bind mount, its own and
// kept across its restarts ('' outside a container). Liveness can only be checked for a process this one can see:
// - another hostname or box (another machine or container on a shared volume): it cannot be checked from here,
//   so it is held; the error says to remove the file if that veer is gone.
// - same box (a container), another pid namespace: a previous run of it (a restart ends all its processes): stale.
//   Outside a container another pid namespace cannot be checked: held.
// - same pid namespace, a pid other than ours: alive (kill(pid, 0) succeeds or EPERM) means held; else stale.
// - OUR pid, not held by this process: stale. A restarted container is often pid 1 again, as the crashed run was,
//   and its new pid namespace may reuse the old one's number; refusing would keep it down until someone removes
//   the file.
// A lock that cannot be parsed was not written by this code (it links a complete file into place): stale.
// Whatever the above says, a lock its holder stopped renewing is stale: the holder touches it every 10 s, so a
// veer killed in a container that is then recreated (another box, which cannot be checked from here) holds
// the front door down for a minute, not until someone removes the file.
import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { link, readFile, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { VeerError, errorMessage } from '../domain/errors.js';

export interface LockOwner {
  pid: number;
  hostname: string;
  /** The container (see the header); '' outside one. */
  box: string;
  /** The pid namespace: a pid is only meaningful inside its own. */
  pidns: string;
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
        `${head} by a veer on another host or container (${o.hostname}, pid ${o.pid}), which cannot be checked ` +
        `from here: if that veer is gone, remove ${lock} (or start again in a minute: a lock its holder no ` +
        'longer renews is taken over)'
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
  if (owner.hostname !== self.hostname || owner.box !== self.box) return { held: true, why: 'remote' };
  // Only a container's box is known to end all its processes when it restarts.
  if (owner.pidns !== self.pidns) return self.box !== '' ? { held: false } : { held: true, why: 'remote' };
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

/** The container this process runs in, from /proc/self/mountinfo ('' when /etc/hostname is no bind mount). */
export function boxOf(mountinfo: string): string {
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    if (f[4] === '/etc/hostname') return f[3] ?? '';
  }
  return '';
}

/** This process as a lock records it (a fresh `id` each call). */
export function currentOwner(): LockOwner {
  const read = <T>(fn: () => T, otherwise: T): T => {
    try {
      return fn();
    } catch {
      return otherwise; // not Linux: hostname and pid alone
    }
  };
  return {
    pid: process.pid,
    hostname: hostname(),
    box: read(() => boxOf(readFileSync('/proc/self/mountinfo', 'utf8')), ''),
    pidns: read(() => readlinkSync('/proc/self/ns/pid'), ''),
    id: randomUUID(),
  };
}

/** How often the holder renews its lock, and how long one not renewed is taken as held. */
export const LOCK_RENEW_MS = 10_000;
export const LOCK_STALE_MS = 60_000;

/** Lock paths this process holds: a second open in the same process must fail too (same pid, same host). */
const heldHere = new Set<string>();

export class FileLock {
  private released = false;
  private readonly renewal: NodeJS.Timeout;

  private constructor(
    readonly path: string,
    private readonly owner: LockOwner,
  ) {
    this.renewal = setInterval(() => {
      const now = new Date();
      utimes(path, now, now).catch(() => undefined); // a missed renewal costs nothing before LOCK_STALE_MS
    }, LOCK_RENEW_MS).unref();
  }

  /** Takes `<file>.lock`, taking over a stale one; rejects with StateLockedError while another holds it. */
  static async acquire(file: string): Promise<FileLock> {
    const path = `${file}.lock`;
    const me = currentOwner();
    // Bounded: each round either creates the lock, refuses, or removes one stale lock.
    for (let round = 0; round < 5; round++) {
      if (await create(path, me)) {
        heldHere.add(path);
        return new FileLock(path, me);
      }
      const text = await readLock(path);
      if (text === null) continue; // removed meanwhile: try again
      const owner = parseOwner(text);
      if (owner !== null) {
        const h = holderOf(owner, me, heldHere.has(path), pidAlive);
        if (h.held && (h.why === 'here' || !(await unrenewed(path))))
          throw new StateLockedError(file, path, owner, h.why);
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
    clearInterval(this.renewal);
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

/** Whether the lock was last renewed more than LOCK_STALE_MS ago (by this host's clock). */
async function unrenewed(path: string): Promise<boolean> {
  const s = await stat(path).catch(() => null);
  return s !== null && Date.now() - s.mtimeMs > LOCK_STALE_MS;
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
    const texts = [o?.hostname, o?.box, o?.pidns, o?.id];
    if (typeof o?.pid === 'number' && texts.every((t) => typeof t === 'string')) return o as LockOwner;
  } catch {
    // Not ours: treated as stale by the caller.
  }
  return null;
}
