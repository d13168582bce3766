// The operator reads a hold's reason: counts in it are whole requests, though a latency bucket that
// straddles a limit counts in part.
import { describe, expect, it } from 'vitest';
import { holdReason } from '../../../src/analysis/hold.js';
import { rolloutPolicySchema } from '../../../src/config/schema.js';

const policy = rolloutPolicySchema.parse({});
const pool = { requests: 1000, errors: 0, errorRate: 0, p99Ms: 900, p50Ms: 20 };

describe('holdReason', () => {
  it('names whole requests over a latency limit', () => {
    const slow = { absN: 1000, overAbs: 72.727, relN: 1000, overRel: 0.4, overMedian: 0 };
    const c = { ...pool, soFar: 1000, stepMin: 0 };
    expect(holdReason(policy, c, pool, null, null, slow, true)).toBe(
      'canary: 73 of 1000 requests over 800.0ms on routes where stable is within it, not yet significant',
    );
    const rel = { ...slow, overAbs: 0, overRel: 40.5 };
    expect(holdReason(policy, c, pool, null, 100, rel, true)).toMatch(/^canary: 41 of 1000 requests over /);
  });
});
