// The last few failed requests of a pool, by id: a rollback names them so their log lines can be found (in
// the access log and the upstream's own). Only failures write it: nothing on the hot path of a healthy pool.

/** How many ids a pool keeps. */
export const FAILED_IDS = 5;

export class FailedRequests {
  private readonly ids: string[] = [];
  /** Ids noted since the start (a worker ships those noted since its last report). */
  noted = 0;

  note(id: string): void {
    this.noted++;
    this.ids.push(id);
    if (this.ids.length > FAILED_IDS) this.ids.shift();
  }

  /** The kept ids, newest last. */
  recent(): string[] {
    return [...this.ids];
  }

  /** The ids noted after the first `since` (the newest FAILED_IDS at most), oldest first. */
  since(since: number): string[] {
    return this.ids.slice(Math.max(0, this.ids.length - (this.noted - since)));
  }
}
