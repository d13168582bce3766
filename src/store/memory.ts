// In-process store for a single replica that needs no persistence (and for tests). Values are copied
// in and out so no caller can change stored state by mutating an object it passed or received.
import { UnavailableError } from '../domain/errors.js';
import { decidePut, type PutResult, type StateStore, type Versioned } from './port.js';

export class MemoryStore implements StateStore {
  private readonly entries = new Map<string, Versioned<unknown>>();
  private closed = false;

  async get<T>(key: string): Promise<Versioned<T> | null> {
    this.assertOpen();
    const e = this.entries.get(key);
    return e ? { value: structuredClone(e.value) as T, version: e.version } : null;
  }

  async put<T>(key: string, value: T, expectedVersion?: number): Promise<PutResult> {
    this.assertOpen();
    const decision = decidePut(this.entries.get(key)?.version ?? 0, expectedVersion);
    if (decision.ok) this.entries.set(key, { value: structuredClone(value), version: decision.version });
    return decision;
  }

  async delete(key: string): Promise<void> {
    this.assertOpen();
    this.entries.delete(key);
  }

  async keys(prefix: string): Promise<string[]> {
    this.assertOpen();
    return [...this.entries.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new UnavailableError('state store is closed');
  }
}
