// The per-second hash in Redis that every replica adds its counts into (flusher.ts) and the merged
// view reads back (merged-source.ts). Its field names live here, in one place, so that the writer and
// the reader can never disagree about them.
import { BUCKET_COUNT } from './histogram.js';
import { emptyTotals, type TotalsLike, type WindowTotals } from './window.js';

// The key names themselves belong to the whole installation's Redis layout (store/keys.ts).
export { FLUSHED_MEMBER, flushedMarkerKey, metricKey } from '../store/keys.js';

type Count = 'requests' | 'errors' | 'connectErrors' | 'timeouts' | 'broken' | 'clientErrors';

// One letter per count, to keep a busy pool's hash per second small; latency buckets are `b<index>`.
// The first four are always written (zeros too); `k` and `q` came later and, like a bucket, are written
// only when not zero, so a second without them is stored as it always was. A route group's counts are
// the same fields after its name and a space (a normalized path has no space): "/api r", "/api b57".
// Errors attributed to a client (a sticky bucket) are `x<key>`, its 4xx `y<key>` (an older reader skips them).
const DENSE: ReadonlyArray<readonly [string, Count]> = [
  ['r', 'requests'],
  ['e', 'errors'],
  ['c', 'connectErrors'],
  ['t', 'timeouts'],
];
const SPARSE: ReadonlyArray<readonly [string, Count]> = [
  ['k', 'broken'],
  ['q', 'clientErrors'],
];
const FIELD = new Map<string, Count>([...DENSE, ...SPARSE]);

/** The HINCRBYs of one second's record, as (field, increment) pairs. */
export function hashIncrements(rec: TotalsLike, prefix = ''): Array<[string, number]> {
  const out: Array<[string, number]> = DENSE.map(([field, count]) => [prefix + field, rec[count] ?? 0]);
  for (const [field, count] of SPARSE) if ((rec[count] ?? 0) !== 0) out.push([prefix + field, rec[count] ?? 0]);
  for (let i = 0; i < rec.latency.length; i++) {
    const c = rec.latency[i] as number;
    if (c !== 0) out.push([`${prefix}b${i}`, c]);
  }
  for (const [key, n] of Object.entries(rec.clients ?? {})) out.push([`${prefix}x${key}`, n]);
  for (const [key, n] of Object.entries(rec.clients4xx ?? {})) out.push([`${prefix}y${key}`, n]);
  for (const [name, r] of Object.entries(rec.routes ?? {})) out.push(...hashIncrements(r, `${name} `));
  return out;
}

/** Adds one flushed hash (field → decimal string, as HGETALL answers) into `out`; unknown fields are skipped. */
export function addHash(out: WindowTotals, hash: unknown): void {
  if (!hash || typeof hash !== 'object') return;
  for (const [key, raw] of Object.entries(hash as Record<string, string>)) {
    const n = Number(raw);
    if (!Number.isFinite(n)) continue;
    const space = key.lastIndexOf(' ');
    const into = space < 0 ? out : routeOf(out, key.slice(0, space));
    const field = space < 0 ? key : key.slice(space + 1);
    const count = FIELD.get(field);
    if (count !== undefined) into[count] += n;
    else if (field[0] === 'x') addClient((into.clients ??= {}), field.slice(1), n);
    else if (field[0] === 'y') addClient((into.clients4xx ??= {}), field.slice(1), n);
    else addBucket(into.latency, field, n);
  }
}

function addClient(out: Record<string, number>, key: string, n: number): void {
  out[key] = (out[key] ?? 0) + n;
}

function routeOf(out: WindowTotals, name: string): WindowTotals {
  out.routes ??= {};
  return (out.routes[name] ??= emptyTotals());
}

function addBucket(latency: Uint32Array, field: string, n: number): void {
  if (field[0] !== 'b') return;
  const i = Number(field.slice(1));
  if (!Number.isInteger(i) || i < 0 || i >= BUCKET_COUNT) return;
  latency[i] = (latency[i] as number) + n;
}
