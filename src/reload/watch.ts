// Reload when the config file changes. The directory is watched, not the file: editors and
// `kubectl`-style tools replace a file by renaming another over it, which ends a watch on the file
// itself. Bursts of events (write, then chmod, then rename) become one reload after `debounceMs`.
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';

export interface ConfigWatch {
  close(): void;
}

export function watchConfigFile(path: string, debounceMs: number, onChange: () => void, log: Logger): ConfigWatch {
  const name = basename(path);
  let timer: NodeJS.Timeout | null = null;
  let watcher: FSWatcher;
  try {
    watcher = watch(dirname(path), { persistent: false }, (_event, file) => {
      // Some platforms give no file name: a change in the directory is then taken as ours.
      if (file !== null && file !== name) return;
      if (timer) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = null;
        onChange();
      }, debounceMs);
    });
  } catch (e) {
    log.log('warn', 'cannot watch the config file; reload with SIGHUP or `veer reload`', {
      path,
      error: errorMessage(e),
    });
    return { close: () => undefined };
  }
  watcher.on('error', (e) => log.log('warn', 'config file watch failed', { path, error: errorMessage(e) }));
  return {
    close: () => {
      if (timer) clearTimeout(timer);
      watcher.close();
    },
  };
}
