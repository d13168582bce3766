// Writes held (corked, or kept aside by their writer) until the check phase of the event loop's turn, not the end of
// their tick: every socket written in one turn is written there, together, so its reader is woken once for the
// writes of a whole turn rather than once per write. On this 2-core virtual machine each wake-up of a process on the
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

/**
 * A socket's writes of one turn, handed to the kernel together at this turn's check phase. A holder alone (an answer
 * whose bytes are all in one buffer) is written then by a plain write of its own; anything else written in the turn
 * corks the socket, with what the holder holds first.
 */
export class TurnCork implements Uncorks {
  /** Listed for this turn's check phase. */
  private due = false;
  private corked = false;
  private holder: HoldsBack | null = null;

  constructor(private readonly socket: { cork(): void; uncork(): void }) {}

  /** Writes from now to the check phase are corked; what a holder holds goes in first (corked already or not). */
  corkForTick(): void {
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      this.schedule();
    }
    const holder = this.holder;
    this.holder = null;
    holder?.sendHeld();
  }

  /**
   * Has `holder.sendHeld()` called at the check phase (or at the next corkForTick, whichever is first): an answer
   * holds its bytes back until then, so that its end can still join them (lean-response.ts). One at a time: a
   * connection writes one answer.
   */
  holdUntilUncork(holder: HoldsBack): void {
    this.holder = holder;
    this.schedule();
  }

  private schedule(): void {
    if (this.due) return;
    this.due = true;
    uncorkThisTurn(this);
  }

  /** Hands what is held and corked to the kernel now (before a destroy, which would drop it). */
  uncork(): void {
    if (!this.due) return;
    this.due = false;
    const holder = this.holder;
    this.holder = null;
    holder?.sendHeld();
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }
}
