// ACME on one replica: rounds that first serve what the store holds (every replica) and then, on the
// leader only, order what is due. A round runs when something is due, when the store says a
// certificate changed, and at least every LOOK_MS (a missed notification, or leadership gained), one
// round at a time. Stopping waits for the round in progress, bounded.
import { settledWithin } from '../domain/async.js';
import type { Clock } from '../domain/clock.js';
import { errorMessage } from '../domain/errors.js';
import type { Logger } from '../domain/log.js';
import type { CertificateIssuer } from './issuer.js';
import type { CertificateShelf } from './shelf.js';

/** The longest a replica goes without looking at the store (and a new leader without ordering). */
export const LOOK_MS = 5_000;
/** A round still running at stop is given this long (each ACME step is bounded by `acme.timeout`). */
const STOP_WAIT_MS = 5_000;

export class AcmeManager {
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly shelf: CertificateShelf,
    private readonly issuer: CertificateIssuer,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /** Runs a round now (or right after the one in progress). */
  kick(): void {
    if (this.stopped) return;
    if (this.round !== null) {
      this.again = true;
      return;
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.round = this.run().finally(() => {
      this.round = null;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.round !== null) await settledWithin(this.round, STOP_WAIT_MS);
  }

  private async run(): Promise<void> {
    let next = this.clock.now() + LOOK_MS;
    try {
      await this.shelf.refresh();
      next = Math.min(next, await this.issuer.run());
      // What the leader just stored is served here at once, not a round later.
      await this.shelf.refresh();
    } catch (e) {
      // The store being down: the certificates already served keep serving; the next round retries.
      this.log.log('warn', 'ACME round failed', { error: errorMessage(e) });
    }
    if (this.stopped) return;
    this.timer = setTimeout(() => this.kick(), Math.max(0, next - this.clock.now()));
    this.timer.unref();
  }
}
