// A replica that wins the lease takes over the rollouts: it reads every record first, and those reads can
// fail (the store slow or briefly away). Tried once, a failure left the lease held, and renewed, by a replica
// that led nothing, so no other could take over. It is tried again while the lease still holds the token
// won, backing off; a lease lost meanwhile ends it without leading.
import { errorMessage } from './domain/errors.js';
import type { Logger } from './domain/log.js';

/** Told when this replica wins or loses the lease. */
export interface Leadership {
  /** Takes over with `token`; leads only while `held()` (checked after its reads, before it acts). */
  lead(token: number, held: () => boolean): Promise<void>;
  follow(reason: string): void;
}

export interface TakeOverPorts {
  /** The lease still holds the token being taken over with. */
  held(): boolean;
  log: Logger;
  sleep(ms: number): Promise<void>;
}

const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 5_000;
/** A bound on the count as well: at the longest wait, about 14 hours of a store that refuses every read. */
const MAX_ATTEMPTS = 10_000;

/** Leads with `token` once its reads succeed, trying again while `held()`; never rejects. */
export async function takeOver(rollouts: Leadership, token: number, p: TakeOverPorts): Promise<void> {
  let waitMs = FIRST_RETRY_MS;
  for (let attempt = 1; attempt <= MAX_ATTEMPTS && p.held(); attempt++) {
    try {
      return await rollouts.lead(token, p.held);
    } catch (e) {
      p.log.log('warn', 'taking over the rollouts failed; trying again while the lease is held', {
        ...{ token, attempt, inMs: waitMs, error: errorMessage(e) },
      });
    }
    await p.sleep(waitMs);
    waitMs = Math.min(waitMs * 2, MAX_RETRY_MS);
  }
}

/** A wait that does not keep the process alive (a stopping replica is not held up by it). */
export const unrefSleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms).unref());
