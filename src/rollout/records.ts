// The persisted inputs of routing and rollouts, per service: the latest rollout, the operator's
// manual weight, the maintenance switch and the Docker membership. Read from the store, cached, compared by content (a
// store that restarted empty restarts its version numbers too) and announced to listeners when
// they change. Writes are compare-and-set; the leader's writes also carry its fencing token.
//
// Veer never deletes these records, so a key that vanished means the store lost it (a Redis restart
// without persistence, a failover to an empty replica, a flush): every replica keeps what it had,
// and the leader writes its copy back (reseed).
import { errorMessage } from '../domain/errors.js';
import type { History } from '../domain/history.js';
import type { Logger } from '../domain/log.js';
import type { Maintenance } from '../domain/maintenance.js';
import { isTerminal, type RolloutState } from '../domain/rollout.js';
import type { ManualWeight, Member } from '../domain/route.js';
import type { PutResult, StateStore, Versioned } from '../store/port.js';

export const rolloutKey = (service: string): string => `rollout/${service}`;
export const manualKey = (service: string): string => `manual/${service}`;
export const membersKey = (service: string): string => `members/${service}`;
export const historyKey = (service: string): string => `history/${service}`;
export const maintenanceKey = (service: string): string => `maintenance/${service}`;
/** Written by veer before routing became a projection; read once to carry an operator's weight over. */
const legacyRoutingKey = (service: string): string => `routing/${service}`;

export type RecordKind = 'rollout' | 'manual' | 'members' | 'history' | 'maintenance';
const KEY_OF: Record<RecordKind, (service: string) => string> = {
  rollout: rolloutKey,
  manual: manualKey,
  members: membersKey,
  history: historyKey,
  maintenance: maintenanceKey,
};
/** What routing reads, re-read on every pass; the history is read when asked for (it is larger and rarely needed). */
const ROUTING_KINDS: readonly RecordKind[] = ['rollout', 'manual', 'members', 'maintenance'];

/** A store that tells when a key changed (the Redis adapter; a single process needs none). */
export interface ChangeFeed {
  onChange(listener: (key: string, version: number) => void): () => void;
  onReconnect(listener: () => void): () => void;
}

export interface FencedWriter {
  putFenced<T>(
    key: string,
    value: T,
    expectedVersion: number | undefined,
    token: number,
  ): Promise<PutResult | { ok: false; reason: 'fenced'; currentFence: number }>;
}

export type WriteResult = PutResult | { ok: false; reason: 'fenced'; currentFence: number };

interface Entry {
  value: unknown;
  version: number;
  json: string;
}

export interface RecordsDeps {
  store: StateStore;
  log: Logger;
  /** With several replicas: every write the leader makes on its own initiative is fenced. */
  fenced?: FencedWriter;
}

export class Records {
  private readonly cache = new Map<string, Entry>();
  /** Bumped whenever a key's cached value is replaced: a read that overlapped a write is stale. */
  private readonly epochs = new Map<string, number>();
  private readonly listeners = new Set<(service: string, kind: RecordKind) => void>();

  constructor(private readonly d: RecordsDeps) {}

  /** Calls `fn` whenever a record of a service changes (read from the store or written here). */
  onChange(fn: (service: string, kind: RecordKind) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  rollout(service: string): Versioned<RolloutState> | null {
    return this.entry<RolloutState>(rolloutKey(service));
  }

  manual(service: string): ManualWeight | null {
    return this.entry<ManualWeight>(manualKey(service))?.value ?? null;
  }

  members(service: string): Member[] | null {
    return this.entry<Member[]>(membersKey(service))?.value ?? null;
  }

  maintenance(service: string): Maintenance | null {
    return this.entry<Maintenance>(maintenanceKey(service))?.value ?? null;
  }

  history(service: string): Versioned<History> | null {
    return this.entry<History>(historyKey(service));
  }

  /** Reads one service's records from the store (a vanished one is kept, see above). */
  async read(service: string, kinds: readonly RecordKind[] = ROUTING_KINDS): Promise<void> {
    for (const kind of kinds) {
      const key = KEY_OF[kind](service);
      const epoch = this.epochs.get(key) ?? 0;
      const rec = await this.d.store.get<unknown>(key);
      if (rec !== null && (this.epochs.get(key) ?? 0) === epoch)
        this.remember(service, kind, key, rec.value, rec.version);
    }
  }

  /** First read at start; carries an operator's weight over from the record veer used to keep. */
  async load(services: readonly string[]): Promise<void> {
    for (const service of services) {
      await this.read(service);
      if (this.manual(service) === null) await this.migrate(service);
    }
  }

  /**
   * Compare-and-set on a service's record. `token` non-null: a leader's write, fenced among replicas,
   * so a leader that lost its lease is refused even before it knows.
   */
  async write<T>(
    service: string,
    kind: RecordKind,
    value: T,
    expected: number,
    token: number | null,
  ): Promise<WriteResult> {
    const key = KEY_OF[kind](service);
    const put =
      this.d.fenced && token !== null
        ? await this.d.fenced.putFenced(key, value, expected, token)
        : await this.d.store.put(key, value, expected);
    if (put.ok) this.remember(service, kind, key, value, put.version, true);
    return put;
  }

  /** Version to compare against for a write of `kind`: what the store holds now (0: nothing). */
  async versionOf(service: string, kind: RecordKind): Promise<number> {
    const key = KEY_OF[kind](service);
    const epoch = this.epochs.get(key) ?? 0;
    const rec = await this.d.store.get<unknown>(key);
    if (rec === null) return 0;
    if ((this.epochs.get(key) ?? 0) === epoch) this.remember(service, kind, key, rec.value, rec.version);
    return rec.version;
  }

  /**
   * The leader's repair after the store lost keys: writes back every record it still holds that the
   * store does not. Returns the services it restored.
   */
  async reseed(services: readonly string[], token: number | null): Promise<string[]> {
    const restored: string[] = [];
    for (const service of services) {
      for (const kind of Object.keys(KEY_OF) as RecordKind[]) {
        const key = KEY_OF[kind](service);
        const had = this.cache.get(key);
        if (had === undefined || (await this.d.store.get(key)) !== null) continue;
        const put = await this.write(service, kind, had.value, 0, token);
        if (put.ok) restored.push(`${kind}/${service}`);
      }
    }
    if (restored.length > 0) this.d.log.log('warn', 'records were missing from the store; written back', { restored });
    return restored;
  }

  private entry<T>(key: string): Versioned<T> | null {
    const e = this.cache.get(key);
    return e ? { value: e.value as T, version: e.version } : null;
  }

  /**
   * `written`: by this replica, so any read that was in flight is older. A read that found what the
   * cache holds changes nothing (not even the epoch: a read of the newer value that overlapped it must
   * still be taken).
   */
  private remember(
    service: string,
    kind: RecordKind,
    key: string,
    value: unknown,
    version: number,
    written = false,
  ): void {
    const json = JSON.stringify(value);
    const prev = this.cache.get(key);
    const same = prev !== undefined && prev.json === json;
    if (same && !written && prev.version === version) return;
    this.cache.set(key, { value, version, json });
    this.epochs.set(key, (this.epochs.get(key) ?? 0) + 1);
    if (same) return;
    for (const fn of [...this.listeners]) {
      try {
        fn(service, kind);
      } catch (e) {
        this.d.log.log('error', 'record listener failed', { service, kind, error: errorMessage(e) });
      }
    }
  }

  private async migrate(service: string): Promise<void> {
    const old = await this.d.store.get<{ weightBp?: number }>(legacyRoutingKey(service));
    const weightBp = old?.value.weightBp;
    if (typeof weightBp !== 'number') return;
    const latest = this.rollout(service)?.value ?? null;
    if (latest !== null && !isTerminal(latest.phase)) return;
    const manual: ManualWeight = { weightBp, after: latest?.id ?? null };
    await this.write(service, 'manual', manual, 0, null);
  }
}
