// The history record `history/<service>`: the leader adds a rollout once it has ended, and whoever
// replaces an ended rollout with a new one adds it first (so a rollout that ended while no leader
// was there is not lost). Writes are compare-and-set and an entry is added only if its id is not
// there yet, so however many replicas, leaders or retries record a rollout, it is there once.
import { errorMessage } from '../domain/errors.js';
import { appendHistory, historyEntry, withLatest, type HistoryEntry } from '../domain/history.js';
import type { Logger } from '../domain/log.js';
import { isTerminal, type RolloutState } from '../domain/rollout.js';
import type { Records } from './records.js';

/** A compare-and-set that lost a race is tried again on the fresh record, this many times in all. */
const ATTEMPTS = 3;

export interface HistoryDeps {
  records: Records;
  log: Logger;
  /** A fenced write was refused: this replica no longer leads. */
  fenced(reason: string): void;
}

export class RolloutHistory {
  /** The last rollout known to be recorded, per service (saves a read on every wake). */
  private readonly known = new Map<string, string>();

  constructor(private readonly d: HistoryDeps) {}

  /**
   * Adds an ended rollout to its service's history unless it is there. `token`: the leader's, fenced;
   * null for an operator's command. Returns whether the history holds it now; never rejects.
   */
  async record(service: string, s: RolloutState, token: number | null): Promise<boolean> {
    if (!isTerminal(s.phase) || this.known.get(service) === s.id) return true;
    try {
      for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const version = await this.d.records.versionOf(service, 'history');
        const slot = this.d.records.history(service);
        // The cache holds another version than the store (a read overlapped a write): read again.
        if (version > 0 && slot?.version !== version) continue;
        // version 0 with a cached copy: the store lost the record, and this write puts it back.
        const next = appendHistory(slot?.value ?? null, historyEntry(s));
        if (next === null) return this.done(service, s.id);
        const put = await this.d.records.write(service, 'history', next, version, token);
        if (put.ok) return this.done(service, s.id);
        if (put.reason === 'fenced') {
          this.d.fenced(`history write refused: fencing token ${token} is older than ${put.currentFence}`);
          return false;
        }
      }
      this.d.log.log('warn', 'rollout not recorded in the history: the record kept changing', { service, id: s.id });
    } catch (e) {
      this.d.log.log('warn', 'rollout not recorded in the history', { service, id: s.id, error: errorMessage(e) });
    }
    return false;
  }

  /** Newest first, the latest rollout on top (running, or ended and not recorded yet), read from the store now. */
  async list(service: string): Promise<HistoryEntry[]> {
    await this.d.records.read(service, ['rollout', 'history']);
    return withLatest(this.d.records.history(service)?.value ?? null, this.d.records.rollout(service)?.value ?? null);
  }

  private done(service: string, id: string): boolean {
    this.known.set(service, id);
    return true;
  }
}
