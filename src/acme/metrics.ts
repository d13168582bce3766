// What /metrics shows about ACME on this replica: the orders it made (only a leader makes them) by
// outcome, and the expiry of each certificate it serves from the store.
import type { ExtraMetric } from '../metrics/prometheus.js';

export type OrderOutcome = 'success' | 'failure';

export class AcmeMetrics {
  private readonly orders: Record<OrderOutcome, number> = { success: 0, failure: 0 };
  private readonly expiry = new Map<string, number>();

  ordered(outcome: OrderOutcome): void {
    this.orders[outcome] += 1;
  }

  /** The certificate served for `host` now expires at `notAfter` (ms since the epoch). */
  serving(host: string, notAfter: number): void {
    this.expiry.set(host, notAfter);
  }

  /** No ACME certificate is served for `host` any more. */
  forget(host: string): void {
    this.expiry.delete(host);
  }

  count(outcome: OrderOutcome): number {
    return this.orders[outcome];
  }

  families(): ExtraMetric[] {
    return [
      {
        name: 'veer_acme_renewals_total',
        help: 'ACME orders (first certificates and renewals) this replica made, by outcome.',
        type: 'counter',
        samples: (['success', 'failure'] as const).map((o) => ({ labels: { outcome: o }, value: this.orders[o] })),
      },
      {
        name: 'veer_certificate_expiry_seconds',
        help: 'When the ACME certificate served for the host expires (notAfter, seconds since the epoch).',
        type: 'gauge',
        samples: [...this.expiry].map(([host, at]) => ({ labels: { host }, value: Math.floor(at / 1000) })),
      },
    ];
  }
}
