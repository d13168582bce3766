// The state store the config names: memory, file (the embedded default) or Redis.
import { FileStore } from '../store/file.js';
import { MemoryStore } from '../store/memory.js';
import type { StateStore } from '../store/port.js';
import { RedisStore } from '../store/redis.js';
import type { Base } from './base.js';

export async function buildStore(b: Base): Promise<{ store: StateStore; redis: RedisStore | null }> {
  const s = b.config.state;
  const opened =
    s.store === 'memory'
      ? { store: new MemoryStore(), redis: null }
      : s.store === 'file'
        ? { store: await FileStore.open(s.path), redis: null }
        : await RedisStore.connect(s.redis as string, { prefix: s.prefix, log: b.log }).then((r) => ({
            store: r,
            redis: r,
          }));
  b.closers.add('store', () => opened.store.close());
  return opened;
}
