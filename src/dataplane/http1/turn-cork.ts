// Writes held (corked) until the check phase of the event loop's turn, not the end of their tick: every
// socket corked in one turn is uncorked there, together, so its reader is woken once for the writes of a
// whole turn rather than once per write. On this 2-core virtual machine each wake-up of a process on the
// other core cost several µs of kernel time in the writer (bench/RESULTS.md).

export interface Uncorks {
  uncork(): void;
}

const corked: Uncorks[] = [];

function uncorkAll(): void {
  for (const c of corked.splice(0)) c.uncork();
}

/**
 * Uncorks now what was corked this turn: for a callback of the check phase itself, whose writes would
 * otherwise wait for the next turn's.
 */
export function uncorkNow(): void {
  if (corked.length > 0) uncorkAll();
}

/** `c` was just corked: it is uncorked with every other one at this turn's check phase. */
export function uncorkThisTurn(c: Uncorks): void {
  corked.push(c);
  if (corked.length === 1) setImmediate(uncorkAll);
}

/** What holds bytes back until the uncork (an answer: lean-response.ts). An object, not a closure: none per answer. */
export interface HoldsBack {
  sendHeld(): void;
}

/** A socket corked until this turn's check phase, once per turn however many answers it writes. */
export class TurnCork implements Uncorks {
  private corked = false;
  private holder: HoldsBack | null = null;

  constructor(private readonly socket: { cork(): void; uncork(): void }) {}

  corkForTick(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    uncorkThisTurn(this);
  }

  /**
   * Corks for this turn, and has `holder.sendHeld()` called just before the uncork: an answer holds its last bytes
   * back until then, so that its end can still join them (lean-response.ts). One at a time: a connection writes one
   * answer.
   */
  holdUntilUncork(holder: HoldsBack): void {
    this.corkForTick();
    this.holder = holder;
  }

  /** Hands what is corked to the kernel now (before a destroy, which would drop it). */
  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    const holder = this.holder;
    this.holder = null;
    holder?.sendHeld();
    this.socket.uncork();
  }
}
