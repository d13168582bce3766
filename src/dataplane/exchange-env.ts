// What one request's exchange needs from the data plane around it: clock and randomness, the retry
// policy, veer's Via entry, where its own answers are counted, the waiting room for requests with no
// target, the routing table of the moment, the readiness watch that a refused connection reports to, and the
// sweep that holds the upstream to its time bounds.
import type { Clock, Random } from '../domain/clock.js';
import type { AnswerCounts } from './answers.js';
import type { DeadlineSweep } from './upstream-deadlines.js';
import type { RoutingTable } from './table.js';
import type { TargetWaits } from './target-wait.js';
import type { Upstream } from './upstream.js';

export interface ExchangeEnv {
  readonly clock: Clock;
  readonly random: Random;
  readonly retryConnectErrors: boolean;
  readonly viaEntry: string;
  readonly answers: AnswerCounts;
  /** Requests waiting for a target (target-wait.ts). */
  readonly waits: TargetWaits;
  /** The routing table now: a request that waited routes by the table of the moment it goes on. */
  readonly table: () => RoutingTable;
  /** A target refused a connection: true when its readiness is watched (then it is out until it accepts one). */
  readonly refused: (target: Upstream, why: string) => boolean;
  /** The upstream's header and body bounds of the exchanges in flight. */
  readonly deadlines: DeadlineSweep;
}
