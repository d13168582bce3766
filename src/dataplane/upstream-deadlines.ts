// The upstream's time bounds for the exchanges in flight (timeouts.header: from the request handed over to
// the response's headers; timeouts.body: between two body chunks), checked by one sweep instead of by undici.
// undici's parser makes a timer object for a request's headers phase and another for its body phase (when
// the two bounds differ, as veer's defaults do) and keeps a cleared one until its next half-second tick:
// each request left two objects old enough to be promoted, about 1 MB/s of old generation at 6,700 req/s in
// the heap profile, which lengthened every scavenge (median 1.17 ms against 0.87 ms without) and brought on
// major collections. Here an exchange holds its deadline and its slot in one array: nothing per request.

/** What the sweep watches: its deadline (performance.now() ms) and its place in the sweep (-1: none). */
export interface Deadlined {
  deadline: number;
  slot: number;
  /** The deadline passed; it may watch itself again with a later one. */
  expired(now: number): void;
}

/** How often deadlines are checked: a bound fires at most this late (undici's own checks were up to 1 s). */
export const SWEEP_MS = 50;

export class DeadlineSweep {
  private readonly items: Deadlined[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly everyMs = SWEEP_MS,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Deadlines watched now. */
  get size(): number {
    return this.items.length;
  }

  /** `d` expires at `at` (performance.now() ms); watched from now on if it was not. */
  watchUntil(d: Deadlined, at: number): void {
    d.deadline = at;
    if (d.slot >= 0) return;
    d.slot = this.items.length;
    this.items.push(d);
    // Started by the first deadline and stopped by a sweep that finds none: at most one timer per period.
    if (this.timer === null) {
      this.timer = setInterval(this.check, this.everyMs);
      this.timer.unref();
    }
  }

  /** `d` expires `ms` from now. */
  watch(d: Deadlined, ms: number): void {
    this.watchUntil(d, this.now() + ms);
  }

  unwatch(d: Deadlined): void {
    const i = d.slot;
    if (i < 0) return;
    d.slot = -1;
    const last = this.items.pop() as Deadlined;
    if (last === d) return;
    this.items[i] = last;
    last.slot = i;
  }

  /** One sweep (the interval runs it; tests call it). */
  readonly check = (): void => {
    const now = this.now();
    const items = this.items;
    // From the end: a removed item takes the last one into its place, which this sweep has already seen.
    for (let i = items.length - 1; i >= 0; i--) {
      const d = items[i];
      if (d === undefined || d.deadline > now) continue;
      this.unwatch(d);
      d.expired(now);
    }
    if (items.length === 0) this.stop();
  };

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }
}

/** What an exchange tells of itself when its deadline passes. */
export interface Waiting {
  readonly gotHeaders: boolean;
  /** The client's request body (null: none). */
  readonly body: { readonly complete: boolean; readonly heldBack: boolean } | null;
  /** The client's side of the answer: paused on it, when it last drained, when a paused client last took bytes. */
  readonly down: { readonly paused: boolean; readonly resumedAt: number; readonly movedAt: number };
}

/**
 * Whether a passed deadline is the upstream's fault ('headers', 'body': its bound of `ms` is over), the client's
 * ('client': paused on the answer and took none of it for `ms`, nginx's send_timeout) or a later deadline to
 * watch. As undici did: no headers bound while the client's body is still on its way and the upstream takes it
 * (the client's own bound applies, request-body.ts), no body bound while a slow client holds the upstream back,
 * and a full bound again after it drained. The client's bound is the same idle bound (README: "the longest
 * quiet gap in either direction"): a client that holds an answer unread holds its upstream connection too.
 */
export function overdue(x: Waiting, ms: number, now: number): 'headers' | 'body' | 'client' | number {
  if (!x.gotHeaders) {
    const body = x.body;
    return body !== null && !body.complete && !body.heldBack ? now + ms : 'headers';
  }
  const down = x.down;
  if (down.paused) return down.movedAt + ms > now ? down.movedAt + ms : 'client';
  const after = down.resumedAt + ms;
  return after > now ? after : 'body';
}
