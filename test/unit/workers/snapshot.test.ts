// One snapshot: a data plane's state, taken on the primary and applied to a worker's data plane
// (which runs no probes of its own), routes the same; the feed sends a change at most once per
// tick, only when something changed, and measures the lag to the last worker applying the change.
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';
import { DataPlane } from '../../../src/dataplane/dataplane.js';
import { silentLogger } from '../../../src/domain/log.js';
import { MetricsRegistry } from '../../../src/metrics/registry.js';
import { parseMessage, toWorkerSchema, type ToWorker } from '../../../src/workers/messages.js';
import { SnapshotFeed, type Recipient } from '../../../src/workers/snapshot-feed.js';

const config = (() => {
  const r = parseConfigObject(
    {
      listen: '127.0.0.1:0',
      services: [
        {
          name: 'web',
          match: { hosts: ['*'], pathPrefix: '/' },
          stable: { targets: ['127.0.0.1:9001'] },
          canary: { targets: ['127.0.0.1:9002'] },
          healthCheck: { path: '/health' },
        },
      ],
    },
    {},
  );
  if (!r.ok) throw r.error;
  return r.value;
})();

const plane = (probes: boolean) =>
  new DataPlane(config, {
    clock: { now: () => 0 },
    random: () => 0.5,
    log: silentLogger,
    metrics: new MetricsRegistry(),
    probes,
  });

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('plane snapshots', () => {
  it('a worker that applies the primary snapshot routes as the primary does', async () => {
    const primary = plane(true);
    const worker = plane(false);
    try {
      primary.configure(config.services);
      primary.update('web', {
        weightBp: 2_500,
        targeting: [{ header: { name: 'x-beta', value: '1' } }],
        rolloutId: 'r1',
      });
      primary.maintenance.set('web', {
        on: true,
        mode: 'page',
        retryAfterMs: 30_000,
        since: '2026-01-01T00:00:00.000Z',
      });
      const snap = primary.snapshot();
      // Through the wire: structured clone and the receiver's check.
      const parsed = parseMessage(toWorkerSchema, structuredClone({ type: 'snapshot', version: 1, snapshot: snap }));
      if (!parsed.ok || parsed.msg.type !== 'snapshot') throw new Error('snapshot refused');
      worker.applySnapshot(parsed.msg.snapshot);

      const [p, w] = [primary.current().routes.get('web'), worker.current().routes.get('web')];
      expect(w?.weightBp).toBe(2_500);
      expect(w?.rolloutId).toBe('r1');
      expect(w?.targeting).not.toBeNull();
      expect(w?.stable.targets.map((u) => [u.key, u.pending, u.healthy])).toEqual(
        p?.stable.targets.map((u) => [u.key, u.pending, u.healthy]),
      );
      // The primary health-checks its new targets (pending until they pass); the worker took that verdict.
      expect(w?.stable.targets[0]?.pending).toBe(true);
      expect(worker.maintenance.now('web')).toEqual({ mode: 'page', retryAfterS: 30 });
      expect(worker.snapshot()).toEqual(snap);

      primary.maintenance.set('web', null);
      worker.applySnapshot(primary.snapshot());
      expect(worker.maintenance.now('web')).toBeNull();
    } finally {
      await Promise.all([primary.close(100), worker.close(100)]);
    }
  });

  it('the feed coalesces changes per tick, skips what did not change, and measures the lag', async () => {
    const p = plane(true);
    let now = 1_000;
    const sent: Array<[string, ToWorker]> = [];
    const to = (name: string): Recipient => ({
      started: true,
      acked: 0,
      appliedAt: 0,
      send: (m) => sent.push([name, m]),
    });
    const [a, b] = [to('a'), to('b')];
    const unstarted = { ...to('c'), started: false };
    const feed = new SnapshotFeed(
      () => p.snapshot(),
      () => [a, b, unstarted],
      () => now,
    );
    p.onChange(() => feed.schedule());
    try {
      p.configure(config.services);
      p.update('web', { weightBp: 100 });
      p.update('web', { weightBp: 200 });
      await tick();
      expect(sent.map(([n, m]) => [n, m.type, m.type === 'snapshot' && m.version])).toEqual([
        ['a', 'snapshot', 1],
        ['b', 'snapshot', 1],
      ]);
      p.update('web', { weightBp: 200 });
      await tick();
      expect(sent).toHaveLength(2);
      // The lag ends when the last worker applied the change (its own stamp), not when its ack is read here.
      now = 1_030;
      feed.acked(a, 1, 1_004);
      expect(feed.lagMs).toBeNull();
      feed.acked(b, 1, 1_007);
      expect(feed.lagMs).toBe(7);
      // The next change: b applied it first; a's stamp, the later one, ends it.
      p.update('web', { weightBp: 300 });
      await tick();
      now = 1_100;
      feed.acked(b, 2, 1_041);
      feed.acked(a, 2, 1_052);
      expect(feed.lagMs).toBe(22);
      // A worker starting now gets the current version; its start is not a change.
      expect(feed.current().version).toBe(2);
    } finally {
      await p.close(100);
    }
  });
});
