// When a second is whole across replicas. Each replica's flusher marks the newest second it has shipped once
// Redis has applied every record up to it, and removes its mark when it leaves. A second every replica has
// marked is complete about FLUSH_GRACE_MS after it ends, where a fixed wait (MERGE_SETTLE_MS) has to allow for
// the slowest flush. The fixed wait stays the floor: a replica that is late or gone never holds the judge back
// longer than before. Pure: merged-source.ts reads the marks.

const MARK_PREFIX = 'r:';

/** The member of the marks' sorted set that scores one replica (`newest`, the any-replica mark, is not one). */
export const replicaMark = (id: string): string => `${MARK_PREFIX}${id}`;

/** The replica a member names, or null (`newest`). */
export const markedReplica = (member: string): string | null =>
  member.startsWith(MARK_PREFIX) ? member.slice(MARK_PREFIX.length) : null;

/**
 * A replica whose mark trails the fixed wait's second by more than this is late or gone: not waited for. One
 * flushing on time has marked a second or two past that second; one this far behind has missed several
 * flushes, later than the fixed wait ever waited for.
 */
export const STALE_MARK_S = 2;

/** The replicas (ids) whose mark is not stale: they flush, live in the registry or not. */
export function markedLately(settled: number, marks: ReadonlyMap<string, number>): string[] {
  const out: string[] = [];
  for (const [member, sec] of marks) {
    const id = markedReplica(member);
    if (id !== null && sec >= settled - STALE_MARK_S) out.push(id);
  }
  return out;
}

export interface FlushMarks {
  /** The sorted set's members (replicaMark(id), and others) with their seconds. */
  readonly marks: ReadonlyMap<string, number>;
  /**
   * Replicas known to serve (ids): the registry's live ones, and those seen lately (merged-source.ts
   * remembers them while Redis has forgotten them). One that has not marked a second is waited for.
   */
  readonly alive: readonly string[];
}

/**
 * The newest second every replica has shipped, never older than `settled` (the second the fixed wait
 * allows). Waited for: each live replica, and each replica that marked a second lately (a replica serving
 * traffic while its heartbeat fails still flushes).
 */
export function completeSecond(settled: number, m: FlushMarks): number {
  let newest = Infinity;
  for (const id of new Set([...m.alive, ...markedLately(settled, m.marks)])) {
    const sec = m.marks.get(replicaMark(id));
    // A live replica with no mark has not shipped its first second yet.
    if (sec === undefined) return settled;
    newest = Math.min(newest, sec);
  }
  return newest === Infinity ? settled : Math.max(settled, newest);
}
