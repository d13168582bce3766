import { describe, expect, it } from 'vitest';
import { BUCKET_COUNT } from '../../../src/metrics/histogram.js';
import { addHash, hashIncrements } from '../../../src/metrics/second-hash.js';
import { emptyTotals } from '../../../src/metrics/window.js';

/** What HGETALL answers after the increments: decimal strings. */
const asHash = (pairs: Array<[string, number]>): Record<string, string> =>
  Object.fromEntries(pairs.map(([f, n]) => [f, String(n)]));

describe('the per-second hash', () => {
  it('reads back exactly what was written, every kind of failure on its own field', () => {
    const rec = { ...emptyTotals(), requests: 9, errors: 6, connectErrors: 1, timeouts: 2, broken: 3 };
    rec.latency[0] = 4;
    rec.latency[BUCKET_COUNT - 1] = 5;
    const out = emptyTotals();
    addHash(out, asHash(hashIncrements(rec)));
    expect({ ...out, latency: Array.from(out.latency) }).toEqual({ ...rec, latency: Array.from(rec.latency) });
  });

  it('writes the four original counts always, and a broken count or a bucket only when not zero', () => {
    const rec = { ...emptyTotals(), requests: 1 };
    rec.latency[7] = 1;
    expect(hashIncrements(rec)).toEqual([
      ['r', 1],
      ['e', 0],
      ['c', 0],
      ['t', 0],
      ['b7', 1],
    ]);
    expect(hashIncrements({ ...rec, errors: 1, broken: 1 }).map(([f]) => f)).toEqual(['r', 'e', 'c', 't', 'k', 'b7']);
  });

  it('reads a hash without the broken field (an older replica) as none, and skips what it does not know', () => {
    const out = emptyTotals();
    addHash(out, { r: '2', e: '1', c: '1', t: '0', b3: '2', zz: '9', b9999: '1', r2: 'x' });
    expect([out.requests, out.errors, out.connectErrors, out.broken, out.latency[3]]).toEqual([2, 1, 1, 0, 2]);
  });
});
