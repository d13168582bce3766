// One snapshot: a data plane's state, taken on the primary and applied to a worker's data plane
// (which runs no probes of its own), routes the same; the feed sends a change at most once per
// tick, only when something changed, as a delta of the services that changed, and measures the lag
// to the last worker applying the change. A worker applies a delta only on top of its base.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { parseConfigObject } from '../../../src/config/load.js';
import { DataPlane } from '../../../src/dataplane/dataplane.js';
import type { PlaneSnapshot } from '../../../src/dataplane/plane-snapshot.js';
import { silentLogger } from '../../../src/domain/log.js';
import { MetricsRegistry } from '../../../src/metrics/registry.js';
import { parseMessage, toWorkerSchema, type ToWorker } from '../../../src/workers/messages.js';
import { SnapshotDiff } from '../../../src/workers/snapshot-diff.js';
import { SnapshotFeed, type Recipient } from '../../../src/workers/snapshot-feed.js';
import { DataWorker } from '../../../src/workers/worker.js';

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

/** The same config with services a, b, c (each one target of its own) besides web. */
const many = (() => {
  const svc = (name: string, port: number) => ({
    name,
    match: { hosts: [`${name}.example`], pathPrefix: '/' },
    stable: { targets: [`127.0.0.1:${port}`] },
    canary: { targets: [] },
  });
  const r = parseConfigObject(
    { listen: '127.0.0.1:0', services: [svc('a', 9101), svc('b', 9102), svc('c', 9103)] },
    {},
  );
  if (!r.ok) throw r.error;
  return r.value;
})();

/** Through the wire: structured clone and the receiver's check, as a worker reads a delta. */
function wireDelta(base: number, version: number, delta: unknown) {
  const parsed = parseMessage(toWorkerSchema, structuredClone({ type: 'delta', base, version, delta }));
  if (!parsed.ok || parsed.msg.type !== 'delta') throw new Error(parsed.ok ? 'not a delta' : parsed.why);
  return parsed.msg;
}

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
      expect(sent.map(([n, m]) => [n, m.type, m.type === 'delta' && [m.base, m.version]])).toEqual([
        ['a', 'delta', [0, 1]],
        ['b', 'delta', [0, 1]],
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

  it('a delta carries only the services that changed; on its base it routes as the whole snapshot', async () => {
    const primary = plane(false);
    const worker = plane(false);
    const diff = new SnapshotDiff();
    try {
      primary.configure(many.services);
      const first = diff.next(primary.snapshot());
      expect(first?.services.map((s) => s.config.name)).toEqual(['a', 'b', 'c']);
      expect(worker.applySnapshot(wireDelta(0, 1, first).delta)).toBe(true);
      const before = worker.current();

      primary.update('b', { weightBp: 4_000, canary: [{ host: '127.0.0.1', port: 9104, id: '127.0.0.1:9104' }] });
      const second = diff.next(primary.snapshot());
      // The same services in the same order: no names, only b's new state.
      expect(second?.names).toBeNull();
      expect(second?.services.map((s) => s.config.name)).toEqual(['b']);
      // Only the new target's verdicts: the others' did not change.
      expect(second?.targets.map((t) => t.key.split('#')[0])).toEqual(['b/127.0.0.1:9104']);
      expect(worker.applySnapshot(wireDelta(1, 2, second).delta)).toBe(true);
      expect(worker.snapshot()).toEqual(primary.snapshot());
      // The services that did not change keep their routes (the same objects); b's is new.
      const after = worker.current();
      expect(after.routes.get('a')).toBe(before.routes.get('a'));
      expect(after.routes.get('c')).toBe(before.routes.get('c'));
      expect(after.routes.get('b')?.weightBp).toBe(4_000);
      expect(after.router.lookup('b.example', '/')?.canary.targets.map((u) => u.address.id)).toEqual([
        '127.0.0.1:9104',
      ]);
      expect(diff.next(primary.snapshot())).toBeNull();
      // A target that leaves routing and comes back is named again (its upstream is a new one).
      primary.update('b', { canary: [] });
      expect(diff.next(primary.snapshot())?.targets).toEqual([]);
      primary.update('b', { canary: [{ host: '127.0.0.1', port: 9104, id: '127.0.0.1:9104' }] });
      expect(diff.next(primary.snapshot())?.targets.map((t) => t.key.split('#')[0])).toEqual(['b/127.0.0.1:9104']);
      primary.update('b', { weightBp: 4_000 });

      // A service removed and the rest reordered: no service changed, the names say it all.
      const reordered = many.services.filter((s) => s.name !== 'b').reverse();
      primary.configure(reordered);
      const third = diff.next(primary.snapshot());
      expect(third?.names).toEqual(['c', 'a']);
      expect(third?.services).toEqual([]);
      expect(worker.applySnapshot(wireDelta(2, 3, third).delta)).toBe(true);
      expect(worker.serviceNames()).toEqual(['c', 'a']);
      expect(worker.current().router.lookup('b.example', '/')).toBeUndefined();
      expect(worker.snapshot()).toEqual(primary.snapshot());

      // A delta naming a service this worker never had was taken against another snapshot: nothing applies.
      const stray = { ...third, names: ['c', 'a', 'zz'] };
      expect(worker.applySnapshot(wireDelta(3, 4, stray).delta)).toBe(false);
      expect(worker.serviceNames()).toEqual(['c', 'a']);
      const unknown = { ...second, names: null };
      expect(worker.applySnapshot(wireDelta(3, 4, unknown).delta)).toBe(false);
      expect(worker.snapshot()).toEqual(primary.snapshot());
    } finally {
      await Promise.all([primary.close(100), worker.close(100)]);
    }
  });

  it('a data plane builds again only the route of the service that changed, and a batch swaps once', async () => {
    const p = plane(false);
    let swaps = 0;
    p.onChange(() => swaps++);
    try {
      p.configure(many.services);
      const t1 = p.current();
      p.update('a', { weightBp: 100 });
      const t2 = p.current();
      expect(t2.version).toBe(t1.version + 1);
      expect(t2.routes.get('a')).not.toBe(t1.routes.get('a'));
      expect(t2.routes.get('a')?.weightBp).toBe(100);
      expect(t2.routes.get('b')).toBe(t1.routes.get('b'));
      // The kept route still uses the live upstream and window: a changed service never releases another's.
      expect(t2.routes.get('b')?.stable.targets[0]).toBe(t1.routes.get('b')?.stable.targets[0]);
      swaps = 0;
      p.batch(() => {
        for (const name of ['a', 'b', 'c']) p.update(name, { weightBp: 2_000 });
        // Inside the batch nothing was swapped yet.
        expect(p.current()).toBe(t2);
      });
      expect(swaps).toBe(1);
      expect([...p.current().routes.values()].map((r) => r.weightBp)).toEqual([2_000, 2_000, 2_000]);
      // A reload's new config objects: every route is built again.
      p.configure(structuredClone(many.services));
      expect(p.current().routes.get('c')).not.toBe(t2.routes.get('c'));
      // A service changed, then removed, in one batch: the table drops it, and the next change swaps again.
      p.batch(() => {
        p.update('c', { weightBp: 300 });
        p.configure(many.services.filter((s) => s.name !== 'c'));
      });
      expect([...p.current().routes.keys()]).toEqual(['a', 'b']);
      expect(p.current().router.lookup('c.example', '/')).toBeUndefined();
      p.update('a', { weightBp: 700 });
      expect(p.current().router.lookup('a.example', '/')?.weightBp).toBe(700);
      // A batch that only removes services still swaps.
      p.batch(() => p.configure(many.services.filter((s) => s.name === 'a')));
      expect([...p.current().routes.keys()]).toEqual(['a']);
      p.batch(() => p.configure([]));
      expect(p.current().routes.size).toBe(0);
      expect(p.current().router.lookup('a.example', '/')).toBeUndefined();
    } finally {
      await p.close(100);
    }
  });

  it('a shift keeps the compiled hosts; new hosts compile again and upstreams no route uses are released', async () => {
    const primary = plane(false);
    const worker = plane(false);
    const diff = new SnapshotDiff();
    const keys = (p: DataPlane) => p.snapshot().targets.map((t) => t.key.split('#')[0]);
    try {
      primary.configure(many.services);
      worker.applySnapshot(wireDelta(0, 1, diff.next(primary.snapshot())).delta);
      const [p1, w1] = [primary.current(), worker.current()];
      // A weight shift: on both sides the same places, the new route found by them.
      primary.update('b', { weightBp: 2_500 });
      expect(worker.applySnapshot(wireDelta(1, 2, diff.next(primary.snapshot())).delta)).toBe(true);
      for (const [before, after] of [
        [p1, primary.current()],
        [w1, worker.current()],
      ] as const) {
        expect(after.places).toBe(before.places);
        expect(after.router.lookup('b.example', '/')?.weightBp).toBe(2_500);
        expect(after.router.lookup('a.example', '/')).toBe(before.routes.get('a'));
      }
      // A canary added, then taken away: its upstream is made, then released (the route is built in full).
      const canary = { host: '127.0.0.1', port: 9105, id: '127.0.0.1:9105' };
      primary.update('c', { canary: [canary] });
      expect(worker.applySnapshot(wireDelta(2, 3, diff.next(primary.snapshot())).delta)).toBe(true);
      for (const p of [primary, worker]) expect(keys(p)).toContain('c/127.0.0.1:9105');
      primary.update('c', { canary: [] });
      expect(worker.applySnapshot(wireDelta(3, 4, diff.next(primary.snapshot())).delta)).toBe(true);
      for (const p of [primary, worker]) expect(keys(p)).not.toContain('c/127.0.0.1:9105');
      // b answers another host now (a reload): the same services in the same order, so a delta without names.
      const moved = structuredClone(many.services);
      (moved[1] as (typeof moved)[number]).match.hosts = ['b2.example'];
      primary.configure(moved);
      const delta = diff.next(primary.snapshot());
      expect(delta?.names).toBeNull();
      expect(worker.applySnapshot(wireDelta(4, 5, delta).delta)).toBe(true);
      for (const p of [primary, worker]) {
        expect(p.current().places).not.toBe(p1.places);
        expect(p.current().router.lookup('b2.example', '/')?.name).toBe('b');
        expect(p.current().router.lookup('b.example', '/')).toBeUndefined();
      }
    } finally {
      await Promise.all([primary.close(100), worker.close(100)]);
    }
  });

  it('a worker given a delta on another base asks for the whole snapshot, and routes by it once it comes', async () => {
    const sent: Array<{ type: string; version?: number }> = [];
    const w = new DataWorker(
      { send: (m, done) => (sent.push(m), done?.()) },
      { clock: { now: () => 0 }, log: { log: () => undefined } },
    );
    const primary = plane(false);
    const diff = new SnapshotDiff();
    const exit = w.run();
    try {
      primary.configure(many.services);
      diff.next(primary.snapshot());
      w.handle({
        type: 'start',
        tls: null,
        config: { ...config, services: many.services },
        version: 1,
        snapshot: primary.snapshot(),
      });
      await new Promise((r) => setImmediate(r));
      expect(sent.filter((m) => m.type === 'ack').map((m) => m.version)).toEqual([1]);

      // Version 2 never came: the delta 2 → 3 is not applied; the worker asks once and waits.
      primary.update('a', { weightBp: 10 });
      primary.update('a', { weightBp: 20 });
      w.handle(wireDelta(2, 3, diff.next(primary.snapshot())));
      primary.update('c', { weightBp: 30 });
      w.handle(wireDelta(3, 4, diff.next(primary.snapshot())));
      expect(sent.filter((m) => m.type === 'resync')).toEqual([{ type: 'resync', have: 1, got: 3 }]);
      expect(sent.filter((m) => m.type === 'ack').map((m) => m.version)).toEqual([1]);

      // The whole snapshot, then deltas on top of it again.
      w.handle({ type: 'snapshot', version: 4, snapshot: primary.snapshot() });
      primary.update('b', { weightBp: 40 });
      w.handle(wireDelta(4, 5, diff.next(primary.snapshot())));
      expect(sent.filter((m) => m.type === 'ack').map((m) => m.version)).toEqual([1, 4, 5]);
    } finally {
      w.handle({ type: 'close', graceMs: 10 });
      expect(await exit).toBe(0);
      await primary.close(100);
    }
  });

  it('a change that throws when applied is refused, not a crash: a delta asks for the snapshot', async () => {
    const sent: Array<{ type: string; version?: number; error?: string | null }> = [];
    const errors: string[] = [];
    const log = { log: (level: string, msg: string) => void (level === 'error' && errors.push(msg)) };
    const w = new DataWorker({ send: (m, done) => (sent.push(m), done?.()) }, { clock: { now: () => 0 }, log });
    const primary = plane(false);
    const exit = w.run();
    // A config this build cannot route by (it lacks every field but the name): applying it throws.
    const broken = (snap: PlaneSnapshot) => ({
      ...snap,
      services: snap.services.map((x) => ({ ...x, config: { name: x.config.name } as never })),
    });
    try {
      primary.configure(many.services);
      w.handle({
        type: 'start',
        tls: null,
        config: { ...config, services: many.services },
        version: 1,
        snapshot: primary.snapshot(),
      });
      await tick();
      expect(sent.map((m) => m.type)).toEqual(['hello', 'ack', 'listening']);
      primary.update('a', { weightBp: 10 });
      expect(() => w.handle(wireDelta(1, 2, { ...broken(primary.snapshot()), names: null }))).not.toThrow();
      expect(sent.at(-1)).toEqual({ type: 'resync', have: 1, got: 2 });
      expect(() => w.handle({ type: 'snapshot', version: 2, snapshot: broken(primary.snapshot()) })).not.toThrow();
      expect(errors).toEqual(['routing snapshot not applied whole; the next change asks again']);
      expect(sent.filter((m) => m.type === 'ack').map((m) => m.version)).toEqual([1]);
      // The next one that applies is taken as usual.
      w.handle({ type: 'snapshot', version: 3, snapshot: primary.snapshot() });
      expect(sent.filter((m) => m.type === 'ack').map((m) => m.version)).toEqual([1, 3]);
    } finally {
      w.handle({ type: 'close', graceMs: 10 });
      expect(await exit).toBe(0);
    }
    // At start, one that cannot be applied fails the worker's start: it never listens.
    const failing: typeof sent = [];
    const w2 = new DataWorker({ send: (m, done) => (failing.push(m), done?.()) }, { clock: { now: () => 0 }, log });
    const exit2 = w2.run();
    w2.handle({ type: 'start', config, tls: null, version: 1, snapshot: broken(primary.snapshot()) });
    expect(await exit2).toBe(1);
    expect(failing.map((m) => m.type)).toEqual(['hello', 'failed']);
    expect(failing[1]?.error).toMatch(/^the routing snapshot could not be applied: it threw: /);
    await primary.close(100);
  });

  it('a probe that changes no verdict is no change to send; a verdict that changes is', async () => {
    // The third probe's request: by then the first two probes' answers were taken in.
    let probes = 0;
    let thirdProbe = (): void => undefined;
    const third = new Promise<void>((resolve) => (thirdProbe = resolve));
    const up = http.createServer((req, res) => {
      if (++probes === 3) thirdProbe();
      res.statusCode = req.url === '/health' && healthy ? 200 : 503;
      res.end();
    });
    let healthy = false;
    await new Promise<void>((resolve) => up.listen(0, '127.0.0.1', resolve));
    const port = (up.address() as AddressInfo).port;
    const r = parseConfigObject(
      {
        listen: '127.0.0.1:0',
        services: [
          {
            name: 'web',
            match: { hosts: ['*'], pathPrefix: '/' },
            stable: { targets: [`127.0.0.1:${port}`] },
            healthCheck: { path: '/health', interval: '50ms', healthyThreshold: 1 },
          },
        ],
      },
      {},
    );
    if (!r.ok) throw r.error;
    const p = plane(true);
    let changes = 0;
    let changed = (): void => undefined;
    p.onChange(() => (changes++, changed()));
    const state = () => p.targets('web', 'stable')[0];
    try {
      p.configure(r.value.services);
      changes = 0;
      // Failing probes of a pending target: its verdict stays (pending, not healthy).
      await third;
      expect(state()?.lastHealthError).not.toBeNull();
      expect(changes).toBe(0);
      const verdict = new Promise<void>((resolve) => (changed = resolve));
      healthy = true;
      await verdict;
      expect(state()?.health).toBe('healthy');
      expect(changes).toBe(1);
    } finally {
      await p.close(100);
      up.close();
    }
  });
});
