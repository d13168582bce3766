// A service's maintenance switch, as stored in `maintenance/<service>` and applied by every replica.
// `hold`: new requests wait (bounded) until the switch is released; `page`: they are answered 503
// with the service's maintenance page and Retry-After. Neither is the pools' traffic.
export type MaintenanceMode = 'hold' | 'page';

export interface Maintenance {
  on: boolean;
  mode: MaintenanceMode;
  /** Retry-After in ms (null: the service's maintenance.retryAfter). */
  retryAfterMs: number | null;
  /** When it was last switched (ISO 8601). */
  since: string;
}
