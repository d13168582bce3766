// A canary's 5xx that the exchange swallowed to ask stable instead (retryCanaryOnStable). It is kept, up to
// a cap, because the retry can come to nothing after the answer's head was read: stable lost its last
// eligible target, a promotion made the failed target stable's, or the service left routing while the body
// came. The upstream's own answer then tells the client more than veer's 502 would. Past the cap the rest is
// of no use to anyone: the exchange stops reading it and asks stable at once, so a canary that sends an
// endless (or very long) error page cannot hold its client until the client gives up.
import type { Downstream } from './downstream.js';
import type { RawField } from './headers.js';

/** An error page larger than this is not kept: the client gets veer's 502 if the retry comes to nothing. */
export const KEPT_BYTES = 64 * 1024;

/** Why a canary's swallowed answer was stopped mid-body (the exchange knows its own abort by this). */
export class DiscardCut extends Error {
  constructor() {
    super(`a canary's swallowed error page passed ${KEPT_BYTES} bytes`);
  }
}

export class DiscardedAnswer {
  private chunks: Buffer[] | null = [];
  private size = 0;

  constructor(
    private readonly status: number,
    private readonly statusText: string,
    private readonly rawHeaders: RawField[],
  ) {}

  /** Keeps a chunk of its body while it fits; false once it has outgrown the cap (stop reading it). */
  keep(chunk: Buffer): boolean {
    this.size += chunk.length;
    if (this.size > KEPT_BYTES) this.chunks = null;
    else this.chunks?.push(chunk);
    return this.chunks !== null;
  }

  /** Sends it after all, whole: false when it outgrew the cap or its head cannot be sent (veer answers). */
  send(down: Downstream): boolean {
    if (this.chunks === null || !down.writeHead(this.status, this.statusText, this.rawHeaders)) return false;
    for (const c of this.chunks) down.write(c);
    return down.end(null);
  }
}
