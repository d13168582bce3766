// How a replica keeps its records current: the store's change notifications, a re-read of
// everything after the store reconnects (notifications sent meanwhile were lost; the leader first
// writes back what the store lost), and a periodic re-read so a missed notification heals anyway.
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { ChangeFeed, RecordKind, Records } from './records.js';

/** Everything is re-read on this period too. */
export const REREAD_MS = 1000;

const KINDS: Record<string, RecordKind> = {
  rollout: 'rollout',
  manual: 'manual',
  members: 'members',
  maintenance: 'maintenance',
};

export interface RecordFeedDeps {
  records: Records;
  feed: ChangeFeed;
  services: readonly string[];
  log: Logger;
  /** Runs before the re-read that follows a reconnect (the leader's reseed). */
  beforeReread(): Promise<void>;
}

export class RecordFeed {
  private readonly stops: Array<() => void> = [];
  private timer: NodeJS.Timeout | null = null;
  constructor(private readonly d: RecordFeedDeps) {}

  start(): void {
    this.stops.push(
      this.d.feed.onChange((key) => {
        const slash = key.indexOf('/');
        const kind = KINDS[key.slice(0, slash)];
        const service = key.slice(slash + 1);
        if (kind !== undefined && this.d.services.includes(service)) this.quietly(this.d.records.read(service, [kind]));
      }),
      this.d.feed.onReconnect(() => this.quietly(this.d.beforeReread().then(() => this.rereadAll()))),
    );
    this.timer = setInterval(() => this.quietly(this.rereadAll()), REREAD_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    for (const s of this.stops.splice(0)) s();
  }

  async rereadAll(): Promise<void> {
    for (const service of [...this.d.services]) await this.d.records.read(service);
  }

  private quietly(p: Promise<void>): void {
    // The store being down is reported by readiness; the next re-read catches up.
    p.catch((e: unknown) => this.d.log.log('debug', 'record re-read failed', { error: errorMessage(e) }));
  }
}
