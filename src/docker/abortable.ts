// A wait that an abort signal ends early, for Docker calls that take long (a pull) and cannot be cancelled.

/** `p`, or a rejection once `signal` aborts (the work behind `p` may still finish on its own). */
export function unlessAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(new Error('interrupted'));
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  return Promise.race([p, aborted]).finally(() => onAbort && signal.removeEventListener('abort', onAbort));
}
