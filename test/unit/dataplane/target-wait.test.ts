// The waiting room's bookkeeping (target-wait.ts) and the readiness state machine (readiness.ts)
// with a scripted probe; the real sockets are in test/integration/dataplane/target-wait.test.ts.
import { describe, expect, it } from 'vitest';
import { Readiness } from '../../../src/dataplane/readiness.js';
import { TargetWaits, type Waiter } from '../../../src/dataplane/target-wait.js';
import { Upstream } from '../../../src/dataplane/upstream.js';
import { waitFor } from '../../helpers/process.js';

const opts = { connectTimeout: 1000, idleTimeout: 1000, connections: 1, headersTimeout: 1000, bodyTimeout: 1000 };
const upstream = (port: number): Upstream => new Upstream({ host: '127.0.0.1', port, id: `127.0.0.1:${port}` }, opts);

function waiter(goes: () => boolean): Waiter & { expired: number; tries: number } {
  const w = {
    expired: 0,
    tries: 0,
    retry: () => {
      w.tries++;
      return goes();
    },
    expire: () => {
      w.expired++;
    },
  };
  return w;
}

describe('TargetWaits', () => {
  it('holds up to max, wakes in order, drops the ones that went on', () => {
    const waits = new TargetWaits(2);
    let open = false;
    const a = waiter(() => open);
    const b = waiter(() => open);
    const letGoA = waits.hold(a, 10_000);
    expect(letGoA).not.toBeNull();
    expect(waits.hold(b, 10_000)).not.toBeNull();
    expect(
      waits.hold(
        waiter(() => true),
        10_000,
      ),
    ).toBeNull();
    waits.wake();
    expect([a.tries, b.tries, waits.size]).toEqual([1, 1, 2]);
    open = true;
    waits.wake();
    expect(waits.size).toBe(0);
    expect(a.expired + b.expired).toBe(0);
  });

  it('expires a waiter at its deadline and never twice; a zero wait holds nothing', async () => {
    const waits = new TargetWaits(10);
    const w = waiter(() => false);
    waits.hold(w, 20);
    await waitFor(() => w.expired === 1, 'the deadline', 2_000);
    waits.expireAll();
    expect(w.expired).toBe(1);
    expect(
      waits.hold(
        waiter(() => true),
        0,
      ),
    ).toBeNull();
  });

  it('a waiter let go of is neither woken nor expired', () => {
    const waits = new TargetWaits(10);
    const w = waiter(() => false);
    const letGo = waits.hold(w, 10_000);
    letGo?.();
    waits.wake();
    waits.expireAll();
    expect([w.tries, w.expired, waits.size]).toEqual([0, 0, 0]);
  });
});

describe('Readiness', () => {
  it('a watched target is out until a probe connects, and out again after a refusal', async () => {
    let accept = false;
    const probes: number[] = [];
    const r = new Readiness(async (u) => {
      probes.push(u.address.port);
      return accept ? null : 'connect: ECONNREFUSED';
    });
    const u = upstream(1);
    const readyCalls: number[] = [];
    r.onReady((x) => readyCalls.push(x.address.port));
    r.sync(new Set([u]));
    expect([u.ready, u.wasReady]).toEqual([false, false]);
    await waitFor(() => u.readyError !== null, 'a refused probe', 2_000);
    accept = true;
    await waitFor(() => u.ready, 'a probe that connects', 3_000);
    expect(readyCalls).toEqual([1]);
    expect(u.wasReady).toBe(true);

    accept = false;
    expect(r.refused(u, 'ECONNREFUSED')).toBe(true);
    expect([u.ready, u.wasReady]).toEqual([false, true]);
    accept = true;
    await waitFor(() => u.ready, 'ready again', 3_000);
    r.stop();
  });

  it('an unwatched target is never taken out; one no longer listed is ready and no longer watched', async () => {
    let count = 0;
    const r = new Readiness(async () => {
      count++;
      return 'connect: ECONNREFUSED';
    });
    const stat = upstream(2);
    expect(r.refused(stat, 'ECONNREFUSED')).toBe(false);
    expect(stat.ready).toBe(true);
    const u = upstream(3);
    r.sync(new Set([u]));
    await waitFor(() => count >= 2, 'probes with back-off', 3_000);
    r.sync(new Set());
    expect(u.ready).toBe(true);
    expect(r.watches(u)).toBe(false);
    expect(r.refused(u, 'ECONNREFUSED')).toBe(false);
    expect(u.ready).toBe(true);
  });
});
