// The per-second metrics' unit: a second is whole once it has ended and the time its figures take to
// arrive (a flush, the workers' shipping, every replica's flush) has passed. One definition for the
// flusher, the judge's input, the dashboard's series and the merged reader, so they agree on the edge.

/** The newest second (epoch seconds) whose figures are whole at `nowMs`, `settleMs` after it ended. */
export function settledSecond(nowMs: number, settleMs: number): number {
  return Math.floor((nowMs - settleMs) / 1000) - 1;
}
