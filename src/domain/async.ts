// The waiting shapes veer needs everywhere: a promise with an upper bound, a pause that a shutdown
// cuts short, and work on one key done strictly in order (a later call never overtakes an earlier one on the same key).

/** Rejects with `timed out after N ms <what>` when `p` has not settled by then; the timer never outlives it. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${Math.max(0, ms)} ms ${what}`)), Math.max(0, ms));
  });
  return Promise.race([p, bound]).finally(() => clearTimeout(timer));
}

/** Resolves when `p` settles or after `ms`, whichever is first (true: it settled). Never rejects. */
export async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((r) => {
    timer = setTimeout(() => r(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        () => true,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves true after `ms`, or false at once when `signal` aborts (then the timer is gone too). */
export function pause(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(
      () => {
        signal.removeEventListener('abort', done);
        resolve(true);
      },
      Math.max(0, ms),
    );
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs functions one at a time per key; a failed one does not stop the next. */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    // Forget an idle key, so a long-lived process does not keep one entry per key ever seen.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }
}
