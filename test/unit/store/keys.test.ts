// The Redis key layout is part of veer's on-disk contract (replicas of different versions share one
// Redis during an upgrade): every name, and that all of them carry the installation's hash tag.
import { describe, expect, it } from 'vitest';
import * as keys from '../../../src/store/keys.js';

describe('Redis key layout', () => {
  it('names every key and channel of an installation', () => {
    expect(keys.stateKey('veer', 'rollout/web')).toBe('veer:{veer}:state:rollout/web');
    expect(keys.STATE_FIELD).toEqual({ version: 'v', data: 'd' });
    expect(keys.changesChannel('veer')).toBe('veer:{veer}:changes');
    expect(keys.leaderKey('veer')).toBe('veer:{veer}:leader');
    expect(keys.fenceKey('veer')).toBe('veer:{veer}:fence');
    expect(keys.replicasKey('veer')).toBe('veer:{veer}:replicas');
    expect(keys.replicaHashPrefix('veer')).toBe('veer:{veer}:replica:');
    expect(keys.replicaKey('veer', 'r-1')).toBe('veer:{veer}:replica:r-1');
    expect(keys.metricKey('veer', 'api', 'stable', 1_700_000_000)).toBe('veer:{veer}:m:api:stable:1700000000');
    expect(keys.flushedMarkerKey('veer')).toBe('veer:{veer}:m:flushed');
    expect(keys.FLUSHED_MEMBER).toBe('newest');
    expect(keys.eventsChannel('veer')).toBe('veer:{veer}:events');
  });

  it('names the ACME records (state-store keys, under state:)', () => {
    expect(keys.ACME_ACCOUNT_KEY).toBe('acme/account');
    expect(keys.acmeCertificateKey('app.example.com')).toBe('acme/certificate/app.example.com');
    expect(keys.acmeCertificateKey('a.test').startsWith(keys.ACME_CERTIFICATE_PREFIX)).toBe(true);
    expect(keys.acmeChallengeKey('tok_1')).toBe('acme/challenge/tok_1');
  });

  it('gives every name of one prefix the same hash tag, so Redis Cluster keeps them in one slot', () => {
    const p = 'prod.eu-1';
    const names = [
      keys.stateKey(p, 'x'),
      keys.changesChannel(p),
      keys.leaderKey(p),
      keys.fenceKey(p),
      keys.replicasKey(p),
      keys.replicaKey(p, 'a'),
      keys.metricKey(p, 'web', 'canary', 1),
      keys.flushedMarkerKey(p),
      keys.eventsChannel(p),
    ];
    for (const n of names) {
      expect(n.startsWith(`${p}:{${p}}:`), n).toBe(true);
      // Cluster hashes only what is inside the first {…}.
      expect(/\{([^}]*)\}/.exec(n)?.[1], n).toBe(p);
    }
  });
});
