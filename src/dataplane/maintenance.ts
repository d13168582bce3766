// Which services are in maintenance on this replica (from the store's records, through the
// projection), and the requests held for them. Switching off, or from `hold` to `page`, releases the
// held requests in the order they came.
import type { Maintenance, MaintenanceMode } from '../domain/maintenance.js';
import { MAX_RETRY_AFTER_MS } from '../config/page-schema.js';
import { HeldRequests } from './hold.js';

/** A switch that is on, as the ingress applies it (retryAfterS null: the service's own). */
export interface MaintenanceNow {
  mode: MaintenanceMode;
  retryAfterS: number | null;
}

// Within the API's bound again: a switch stored before that bound existed (Redis, the state file) could
// hold any number, and Retry-After must be whole seconds.
const seconds = (ms: number | null): number | null =>
  ms === null || !Number.isFinite(ms) ? null : Math.min(MAX_RETRY_AFTER_MS / 1000, Math.max(1, Math.ceil(ms / 1000)));

/** The Retry-After (seconds) of an answer in maintenance: the switch's own, else the service's. */
export function retryAfterOf(m: MaintenanceNow, serviceS: number): string {
  return String(m.retryAfterS ?? serviceS);
}

export class MaintenanceGate {
  private readonly on = new Map<string, MaintenanceNow>();
  readonly holds = new HeldRequests();

  /** `changed`: told after every switch (the data plane's snapshot shows them). */
  constructor(private readonly changed: () => void = () => undefined) {}

  set(service: string, m: Maintenance | null): void {
    this.put(service, m?.on === true ? { mode: m.mode, retryAfterS: seconds(m.retryAfterMs) } : null);
    this.changed();
  }

  /** The switches that are on, as another data plane applies them (a snapshot's). */
  entries(): Array<[string, MaintenanceNow]> {
    return [...this.on.entries()];
  }

  /** Exactly these switches on, every other one off (a snapshot from the primary). */
  replace(entries: ReadonlyArray<[string, MaintenanceNow]>): void {
    const next = new Map(entries);
    for (const service of [...this.on.keys()]) if (!next.has(service)) this.put(service, null);
    for (const [service, now] of next) this.put(service, now);
  }

  private put(service: string, now: MaintenanceNow | null): void {
    if (now === null) this.on.delete(service);
    else this.on.set(service, { mode: now.mode, retryAfterS: now.retryAfterS });
    if (now?.mode !== 'hold') this.holds.release(service);
  }

  readonly now = (service: string): MaintenanceNow | null => this.on.get(service) ?? null;

  /** Requests held by mode `hold` now. */
  get held(): number {
    return this.holds.size;
  }
}
