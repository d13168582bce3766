// The load generator the rollout tests rely on: its rate, its bounds, and what it counts as a
// client-visible failure must be right, or the rollout assertions built on it mean nothing.
import { describe, expect, it, vi } from 'vitest';
import { between, startTraffic } from '../../helpers/traffic.js';
import { deadPort, useHarness } from '../../helpers/veer.js';

const h = useHarness();

describe('traffic generator', () => {
  it('keeps the rate, reuses connections and names the upstream that answered', async () => {
    const ports = new Set<number>();
    let n = 0;
    const u = await h.upstream('one', {
      handler: (req, res) => {
        ports.add(req.socket.remotePort ?? 0);
        n++;
        res.writeHead(n % 10 === 0 ? 500 : 200, { 'x-upstream': 'one' }).end('one');
      },
    });
    // At most 16 in flight, so at most 16 connections whatever the machine's load: a generator that did not
    // keep connections alive would open one per request (~200).
    const r = await startTraffic({ url: `http://${u.address}`, rps: 200, maxMs: 1_000, maxInFlight: 16 }).done;
    expect(r.stoppedBy).toBe('time');
    // The schedule is kept: every slot of the second is sent, or skipped when 16 are still out. Beside two busy
    // loops the in-flight cap skipped up to 36, so the share sent is held to half.
    expect(r.sent + r.skipped).toBeGreaterThanOrEqual(190);
    expect(r.sent + r.skipped).toBeLessThanOrEqual(200);
    expect(r.sent).toBeGreaterThanOrEqual(100);
    expect(r.completed).toBe(r.sent);
    expect(r.byUpstream).toEqual({ one: r.completed });
    expect(r.byStatus['500']).toBe(Math.floor(n / 10));
    expect(r.failures).toBe(r.byStatus['500']);
    expect(r.ok + r.failures).toBe(r.completed);
    expect(r.failureLog.every((f) => f.status === 500 && f.upstream === 'one')).toBe(true);
    // Keep-alive: far fewer connections than requests.
    expect(ports.size).toBeLessThanOrEqual(16);
  });

  it('sends no more than maxMs of traffic when its timers run late', async () => {
    const u = await h.upstream('one');
    const t = startTraffic({ url: `http://${u.address}`, rps: 200, maxMs: 300, maxInFlight: 4 });
    // Hold the event loop past the deadline once the first requests are out, as a loaded machine does:
    // the next tick and the deadline both run late, and the late tick must count only 300 ms at 200/s.
    await vi.waitFor(() => expect(t.snapshot().sent).toBeGreaterThan(0), { timeout: 5_000, interval: 5 });
    const until = Date.now() + 600;
    while (Date.now() < until);
    const r = await t.done;
    expect(r.stoppedBy).toBe('time');
    expect(r.sent + r.skipped).toBe(60);
  });

  it('stops as soon as the predicate holds, and snapshots diff into stretches', async () => {
    const u = await h.upstream('one');
    let calls = 0;
    const t = startTraffic({
      url: `http://${u.address}`,
      rps: 100,
      maxMs: 5_000,
      pollMs: 20,
      until: () => ++calls >= 10,
    });
    h.defer(() => t.stop());
    const mid = t.snapshot();
    const r = await t.done;
    expect(r.stoppedBy).toBe('predicate');
    expect(r.elapsedMs).toBeLessThan(1_500);
    expect(between(mid, r).sent).toBe(r.sent - mid.sent);
    expect(u.hits).toBe(r.completed);
  });

  it('counts network errors as failures and never exceeds maxInFlight', async () => {
    const port = await deadPort();
    const r = await startTraffic({ url: `http://127.0.0.1:${port}`, rps: 100, maxMs: 300 }).done;
    expect(r.completed).toBeGreaterThan(0);
    expect(r.networkErrors).toBe(r.completed);
    expect(r.failures).toBe(r.completed);
    expect(r.failureLog[0]?.error).toMatch(/ECONNREFUSED/);

    const slow = await h.upstream('slow', { delayMs: 400 });
    const capped = await startTraffic({ url: `http://${slow.address}`, rps: 200, maxMs: 300, maxInFlight: 5 }).done;
    expect(capped.sent).toBe(5);
    expect(capped.skipped).toBeGreaterThan(30);
    expect(capped.failures).toBe(0);
  });

  it('rejects when the predicate throws, after stopping', async () => {
    const u = await h.upstream('one');
    const t = startTraffic({
      url: `http://${u.address}`,
      rps: 50,
      maxMs: 5_000,
      until: () => Promise.reject(new Error('status probe failed')),
    });
    await expect(t.done).rejects.toThrow('status probe failed');
    const hits = u.hits;
    // A witness at the same rate, started after: by its fifth request the stopped one, had it gone
    // on, would have sent several more.
    const other = await h.upstream('witness');
    const witness = startTraffic({
      url: `http://${other.address}`,
      rps: 50,
      maxMs: 5_000,
      until: () => other.hits >= 5,
    });
    expect((await witness.done).stoppedBy).toBe('predicate');
    expect(u.hits).toBe(hits);
  });
});
