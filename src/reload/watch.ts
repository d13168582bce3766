// Reload when the config file changes. The directory is watched, not the file: editors and
// `kubectl`-style tools replace a file by renaming another over it, which ends a watch on the file
// itself. Bursts of events (write, then chmod, then rename) become one reload after `debounceMs`.
//
// A symlinked config file changes without any event naming it in its own directory: a ConfigMap
// volume swaps its `..data` link to a new directory, and a file linked from elsewhere is edited
// where it really is. So the directory of the resolved file is watched too (re-armed when the link
// moves it), and a slow stat poll backs both up (an intermediate link, a filesystem without events).
// Those sources see one change several times, so they reload only when the resolved file is not
// what it was at the last reload: its real path, inode, size or times differ.
import { realpathSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';

export interface ConfigWatch {
  close(): void;
}

export interface ConfigWatchOptions {
  /** How often the resolved file is stat'ed, in case no watch event tells of its change. */
  pollMs?: number;
}

const DEFAULT_POLL_MS = 2_000;

export function watchConfigFile(
  path: string,
  debounceMs: number,
  onChange: () => void,
  log: Logger,
  opts: ConfigWatchOptions = {},
): ConfigWatch {
  const w = new ConfigFileWatch(path, debounceMs, onChange, log);
  w.start(Math.max(10, opts.pollMs ?? DEFAULT_POLL_MS));
  return w;
}

/** What the file the path resolves to is now; null when it cannot be read (mid-swap, removed). */
function identity(path: string): string | null {
  try {
    const real = realpathSync(path);
    const s = statSync(real);
    return [real, s.ino, s.size, s.mtimeMs, s.ctimeMs].join('|');
  } catch {
    return null;
  }
}

/** The path with every symlink resolved (a file's or a directory's), null when it does not resolve. */
function resolved(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

class ConfigFileWatch implements ConfigWatch {
  private timer: NodeJS.Timeout | null = null;
  /** An event named the file itself in its own directory: reload even if it looks the same. */
  private forced = false;
  private last: string | null;
  private own: FSWatcher | null = null;
  /** The watch on the resolved file's directory, when that is not the path's own directory. */
  private target: { dir: string; watcher: FSWatcher } | null = null;
  private poller: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly path: string,
    private readonly debounceMs: number,
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {
    this.last = identity(path);
  }

  start(pollMs: number): void {
    const name = basename(this.path);
    // Some platforms give no file name: a change in the directory is then taken as ours.
    this.own = this.watchDir(dirname(this.path), (file) => this.schedule(file === null || file === name));
    if (this.own === null) {
      this.log.log('warn', 'cannot watch the config directory; polling the file instead', { path: this.path, pollMs });
    }
    this.rearm();
    // Compared with what this watch last saw (not with the previous poll, as fs.watchFile does): a change
    // made between construction and the first poll is still a change.
    this.poller = setInterval(() => {
      // Not while a reload is pending: each poll would push it back, and a poll faster than the
      // debounce would never let it run.
      if (this.timer === null && identity(this.path) !== this.last) this.schedule(false);
    }, pollMs);
    this.poller.unref();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
    this.own?.close();
    this.target?.watcher.close();
    this.target = null;
  }

  private schedule(forced: boolean): void {
    if (this.closed) return;
    this.forced ||= forced;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.settle(), this.debounceMs);
  }

  private settle(): void {
    this.timer = null;
    if (this.closed) return;
    this.rearm();
    const now = identity(this.path);
    const changed = now !== this.last;
    const forced = this.forced;
    this.forced = false;
    this.last = now;
    if (changed || forced) this.onChange();
  }

  /** Watches the directory the path now resolves into (once), closing the watch on the one it left. */
  private rearm(): void {
    const real = resolved(this.path);
    const dir = real === null ? null : dirname(real);
    const needed = dir !== null && dir !== resolved(dirname(this.path)) ? dir : null;
    if (this.target?.dir === needed) return;
    this.target?.watcher.close();
    this.target = null;
    if (needed === null) return;
    const watcher = this.watchDir(needed, () => this.schedule(false));
    if (watcher !== null) this.target = { dir: needed, watcher };
  }

  private watchDir(dir: string, onEvent: (file: string | null) => void): FSWatcher | null {
    try {
      const w = watch(dir, { persistent: false }, (_event, file) => onEvent(file));
      w.on('error', (e) =>
        this.log.log('warn', 'config file watch failed', { path: this.path, dir, error: errorMessage(e) }),
      );
      return w;
    } catch (e) {
      this.log.log('warn', 'cannot watch a config directory', { path: this.path, dir, error: errorMessage(e) });
      return null;
    }
  }
}
