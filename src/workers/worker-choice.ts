// Which worker the primary hands the next connection to: the one with the fewest connections open. Handing
// each to the first worker free (which is how it began) follows who answers fastest in the moment, not who
// carries least: a burst of keep-alive connections (a load balancer's, wrk's 64) met one worker busy for a few
// milliseconds and split 5 / 59 between two, and stayed split for the connections' life. Pure: the handout
// acts on the answer.

/** A ready worker: `load` is its open connections (its last report, and the one in its hand if any). */
export interface Candidate {
  readonly id: number;
  readonly load: number;
}

/** A worker with a connection in hand (its take is one message away), given it at `givenAt` (ms). */
export interface Busy extends Candidate {
  readonly givenAt: number;
}

export type Choice =
  /** Hand it to this free worker. */
  | { kind: 'give'; id: number }
  /** A worker with fewer connections is about to be free: wait for it, and look again by `until` (ms). */
  | { kind: 'wait'; until: number }
  /** No worker is free. */
  | { kind: 'none' };

/**
 * A worker with a connection in hand is waited for this long at most: it normally takes one in well under a
 * millisecond, and one whose loop is busy longer serves new connections late anyway (the free one goes then).
 */
export const PREFER_MS = 10;

/** Within this many connections (and a tenth), workers count as even: no wait for a difference that small. */
const SLACK = 2;

const even = (more: number, fewer: number): boolean => more <= fewer + SLACK + fewer / 10;

/** `free`: ready workers with nothing in hand; `busy`: those with one in hand (not stuck); `now` in ms. */
export function chooseWorker(free: readonly Candidate[], busy: readonly Busy[], now: number): Choice {
  let best: Candidate | undefined;
  for (const c of free) if (best === undefined || c.load < best.load) best = c;
  if (best === undefined) return { kind: 'none' };
  let until = Number.POSITIVE_INFINITY;
  for (const b of busy) {
    const deadline = b.givenAt + PREFER_MS;
    if (deadline > now && !even(best.load, b.load)) until = Math.min(until, deadline);
  }
  return until === Number.POSITIVE_INFINITY ? { kind: 'give', id: best.id } : { kind: 'wait', until };
}
