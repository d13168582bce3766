// The state store port: versioned JSON values under string keys with compare-and-set. Semantics are
// chosen so every adapter (memory, file, Redis with WATCH/MULTI or a Lua script) can implement them
// exactly: versions are per key, start at 1 and grow by one per write; deleting a key forgets it.

export interface Versioned<T> {
  value: T;
  version: number;
}

export type PutResult =
  { ok: true; version: number } | { ok: false; reason: 'version-conflict'; currentVersion: number };

export interface StateStore {
  get<T>(key: string): Promise<Versioned<T> | null>;
  /** expectedVersion undefined = unconditional; 0 = only if absent; n = only if current version is n. */
  put<T>(key: string, value: T, expectedVersion?: number): Promise<PutResult>;
  delete(key: string): Promise<void>;
  /** Keys starting with `prefix`, sorted. */
  keys(prefix: string): Promise<string[]>;
  /** Waits for pending writes; later calls are rejected. */
  close(): Promise<void>;
}

/**
 * The compare-and-set decision shared by adapters. `currentVersion` is 0 when the key is absent.
 * A malformed expectedVersion is a programming error, not an outcome, so it throws.
 */
export function decidePut(currentVersion: number, expectedVersion: number | undefined): PutResult {
  if (expectedVersion !== undefined && !(Number.isInteger(expectedVersion) && expectedVersion >= 0)) {
    throw new TypeError(`expectedVersion must be a non-negative integer, got ${String(expectedVersion)}`);
  }
  if (expectedVersion !== undefined && expectedVersion !== currentVersion) {
    return { ok: false, reason: 'version-conflict', currentVersion };
  }
  return { ok: true, version: currentVersion + 1 };
}
