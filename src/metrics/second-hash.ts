// The per-second hash in Redis that every replica adds its counts into (flusher.ts) and the merged
// view reads back (merged-source.ts). Its field names live here, in one place, so that the writer and
// the reader can never disagree about them.
import { BUCKET_COUNT } from './histogram.js';
import type { TotalsLike, WindowTotals } from './window.js';

// The key names themselves belong to the whole installation's Redis layout (store/keys.ts).
export { FLUSHED_MEMBER, flushedMarkerKey, metricKey } from '../store/keys.js';

type Count = 'requests' | 'errors' | 'connectErrors' | 'timeouts' | 'broken';

// One letter per count, to keep a busy pool's hash per second small; latency buckets are `b<index>`.
// The first four are always written (zeros too); `k` came later and, like a bucket, is written only
// when it is not zero, so a second without a broken answer is stored as it always was.
const DENSE: ReadonlyArray<readonly [string, Count]> = [
  ['r', 'requests'],
  ['e', 'errors'],
  ['c', 'connectErrors'],
  ['t', 'timeouts'],
];
const SPARSE: ReadonlyArray<readonly [string, Count]> = [['k', 'broken']];
const FIELD = new Map<string, Count>([...DENSE, ...SPARSE]);

/** The HINCRBYs of one second's record, as (field, increment) pairs. */
export function hashIncrements(rec: TotalsLike): Array<[string, number]> {
  const out: Array<[string, number]> = DENSE.map(([field, count]) => [field, rec[count]]);
  for (const [field, count] of SPARSE) if (rec[count] !== 0) out.push([field, rec[count]]);
  for (let i = 0; i < rec.latency.length; i++) {
    const c = rec.latency[i] as number;
    if (c !== 0) out.push([`b${i}`, c]);
  }
  return out;
}

/** Adds one flushed hash (field → decimal string, as HGETALL answers) into `out`; unknown fields are skipped. */
export function addHash(out: WindowTotals, hash: unknown): void {
  if (!hash || typeof hash !== 'object') return;
  for (const [field, raw] of Object.entries(hash as Record<string, string>)) {
    const n = Number(raw);
    if (!Number.isFinite(n)) continue;
    const count = FIELD.get(field);
    if (count !== undefined) out[count] += n;
    else addBucket(out.latency, field, n);
  }
}

function addBucket(latency: Uint32Array, field: string, n: number): void {
  if (field[0] !== 'b') return;
  const i = Number(field.slice(1));
  if (!Number.isInteger(i) || i < 0 || i >= BUCKET_COUNT) return;
  latency[i] = (latency[i] as number) + n;
}
