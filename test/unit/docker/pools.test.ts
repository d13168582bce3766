// The membership watcher against fake engines: an engine that stops answering keeps its containers
// as stale members (said once per transition), a listing that succeeds again reconciles them, and an
// engine that never answered keeps the membership recorded before, stale.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withStale } from '../../../src/docker/engine-state.js';
import { DockerPools } from '../../../src/docker/pools.js';
import type { DockerService } from '../../../src/docker/membership.js';
import type { ContainerDriver, ContainerView, EngineEvent } from '../../../src/docker/port.js';
import type { Logger } from '../../../src/domain/log.js';
import type { Member } from '../../../src/domain/route.js';
import { containerView } from './fixtures/container-view.js';

function view(id: string, port: number, created = 1): ContainerView {
  return containerView({ id, name: id, port, created });
}

class FakeEngine {
  readonly endpoint = 'local';
  readonly publishedHost = '127.0.0.1';
  answering = true;
  containers: ContainerView[] = [];
  listener: ((e: EngineEvent) => void) | null = null;
  /** List calls refused (a relist makes two: veer's own labels and the service's selector). */
  refused = 0;

  async list(opts: { labels?: Record<string, string> }): Promise<ContainerView[]> {
    if (!this.answering) {
      this.refused++;
      throw new Error('connect ENOENT /fake.sock');
    }
    return this.containers.filter((c) => Object.entries(opts.labels ?? {}).every(([k, v]) => c.labels[k] === v));
  }
  async inspect(id: string): Promise<ContainerView | null> {
    if (!this.answering) throw new Error('connect ENOENT /fake.sock');
    return this.containers.find((c) => c.id === id) ?? null;
  }
  watch(listener: (e: EngineEvent) => void): () => void {
    this.listener = listener;
    return () => (this.listener = null);
  }
  close(): void {}
}

function setup(recorded: Member[] | null = null) {
  const engine = new FakeEngine();
  const records: Member[][] = [];
  let current = recorded;
  const logs: string[] = [];
  const log: Logger = { log: (level, msg) => void logs.push(`${level}: ${msg}`) };
  const configured: { services: DockerService[] } = {
    services: [{ name: 'web', stable: { selector: { app: 'web' }, port: 8080 }, manageCanary: true }],
  };
  const pools = new DockerPools({
    engines: [engine as unknown as ContainerDriver],
    services: () => configured.services,
    owner: 'veer',
    membership: {
      current: () => current,
      record: async (_s, m) => {
        current = m;
        records.push(m);
      },
    },
    leading: () => true,
    log,
    syncMs: 60_000,
    relistMs: 60_000,
  });
  running.push(pools);
  return { engine, pools, logs, current: () => current, records, configured };
}

const running: DockerPools[] = [];
afterEach(() => {
  for (const p of running.splice(0)) p.stop();
});

const member = (port: number, stale?: boolean): Member => ({
  address: `127.0.0.1:${port}`,
  generation: null,
  created: 1,
  role: 'selected',
  ...(stale ? { stale } : {}),
});

describe('DockerPools when an engine does not answer', () => {
  it('keeps its containers as stale members, says so once, and reconciles when it answers again', async () => {
    const { engine, pools, logs, current } = setup();
    engine.containers = [view('a', 31001), view('b', 31002)];
    await pools.start();
    expect(current()).toEqual([member(31001), member(31002)]);

    engine.answering = false;
    engine.listener?.({ type: 'down', error: 'stream ended' });
    await vi.waitFor(() => expect(current()).toEqual([member(31001, true), member(31002, true)]));
    // More failing relists (reconnect attempts, the timer) are not news.
    const refused = engine.refused;
    engine.listener?.({ type: 'down', error: 'stream ended' });
    engine.listener?.({ type: 'up' });
    await vi.waitFor(() => expect(engine.refused).toBe(refused + 4));
    await pools.sync();
    expect(logs.filter((l) => l.includes('does not answer'))).toHaveLength(1);

    // What changed meanwhile: b restarted at another port, c started.
    engine.containers = [view('a', 31001), view('b', 31012), view('c', 31003)];
    engine.answering = true;
    engine.listener?.({ type: 'up' });
    await vi.waitFor(() => expect(current()).toEqual([member(31001), member(31003), member(31012)]));
    expect(logs.filter((l) => l.includes('answers again'))).toHaveLength(1);
  });

  it('keeps the membership recorded before when the engine has not answered since start', async () => {
    const { engine, pools, current } = setup([member(31001), member(31002)]);
    engine.answering = false;
    await pools.start();
    expect(current()).toEqual([member(31001, true), member(31002, true)]);

    engine.containers = [view('a', 31001)];
    engine.answering = true;
    engine.listener?.({ type: 'up' });
    await vi.waitFor(() => expect(current()).toEqual([member(31001)]));
  });

  it('records nothing new while nothing changes', async () => {
    const { engine, pools, records } = setup();
    engine.containers = [view('a', 31001)];
    await pools.start();
    engine.answering = false;
    engine.listener?.({ type: 'down', error: 'x' });
    await vi.waitFor(() => expect(records).toHaveLength(2));
    await pools.sync();
    await pools.sync();
    expect(records).toHaveLength(2);
  });
});

describe('DockerPools after a reload', () => {
  it('stops following a service the reload removed', async () => {
    const { engine, pools, records, configured } = setup();
    engine.containers = [view('a', 31001)];
    await pools.start();
    expect(records).toEqual([[member(31001)]]);
    configured.services = [];
    engine.containers = [view('a', 31001), view('b', 31002)];
    const listed = engine.refused;
    engine.answering = false;
    engine.listener?.({ type: 'up' });
    // One listing now (veer's own containers), no longer the removed service's selector too.
    await vi.waitFor(() => expect(engine.refused).toBe(listed + 1));
    engine.answering = true;
    engine.listener?.({ type: 'changed', id: 'b', action: 'start' });
    await pools.sync();
    expect(records).toEqual([[member(31001)]]);
  });
});

describe('withStale', () => {
  it('prefers a live member over a stale one at the same address and sorts by address', () => {
    expect(withStale([member(2)], [member(2), member(1)], [member(3, true)])).toEqual([
      member(1, true),
      member(2),
      member(3, true),
    ]);
  });
});
