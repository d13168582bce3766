// Workers that die and a primary that stops: a worker killed under steady traffic is replaced (the
// port never stops accepting: the primary holds it), and SIGTERM lets a slow request in flight on a
// worker finish while new connections are refused, then exits 0; a replacement still starting when SIGTERM
// comes closes instead of starting.
import { describe, expect, it } from 'vitest';
import { exited, isAlive, waitFor, withTimeout } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import {
  allAcked,
  metricsText,
  refused,
  sample,
  startWorkersVeer,
  WORKERS_TEST_MS,
  workersOf,
} from '../../helpers/workers.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

/** Requests on fresh connections until stopped: every error code seen (ECONNREFUSED must not be one). */
function freshConnections(url: string): { stop(): Promise<{ ok: number; errors: string[] }> } {
  let stopped = false;
  const errors: string[] = [];
  let ok = 0;
  const loop = (async () => {
    for (let i = 0; i < 100_000 && !stopped; i++) {
      try {
        if ((await http(url, { timeoutMs: 5_000 })).status === 200) ok++;
      } catch (e) {
        errors.push((e as { code?: string }).code ?? String(e));
      }
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { ok, errors };
    },
  };
}

describe('workers: crashes and shutdown', { timeout: WORKERS_TEST_MS }, () => {
  it('a worker killed under steady traffic is replaced; no connection is ever refused', async () => {
    const up = await h.upstream('web-upstream');
    const v = await startWorkersVeer(h, { services: [service('web', [up.address])] });
    const before = await workersOf(v);
    const traffic = startTraffic({ url: v.dataUrl, rps: 100, maxMs: 20_000, maxInFlight: 8 });
    h.defer(() => traffic.stop().then(() => undefined));
    const fresh = freshConnections(v.dataUrl);
    await waitFor(() => traffic.snapshot().completed >= 50, { what: 'steady traffic', timeoutMs: 10_000 });

    const victim = before.workers[0]?.pid as number;
    process.kill(victim, 'SIGKILL');
    const after = await waitFor(
      async () => {
        const w = await workersOf(v);
        const replaced = w.restarts === 1 && w.workers.length === 2 && !w.workers.some((x) => x.pid === victim);
        return replaced && w.workers.every((x) => x.listening && x.snapshotVersion >= w.snapshot.version) ? w : null;
      },
      { what: 'the killed worker replaced', timeoutMs: 20_000 },
    );
    expect(after.workers).toHaveLength(2);
    const served = traffic.snapshot().completed;
    await waitFor(() => traffic.snapshot().completed >= served + 100, { what: 'traffic after', timeoutMs: 10_000 });
    const report = await traffic.stop();
    const conn = await fresh.stop();

    const refusedErrors = report.failureLog.filter((f) => f.error?.includes('ECONNREFUSED'));
    expect(refusedErrors).toEqual([]);
    expect(conn.errors.filter((c) => c === 'ECONNREFUSED')).toEqual([]);
    expect(conn.ok).toBeGreaterThan(0);
    // Only requests in flight on the killed worker may have failed (their connection was reset).
    expect(report.failures).toBeLessThanOrEqual(8);
    expect(sample(await metricsText(v), 'veer_worker_restarts_total')).toBe(1);
    expect(v.output()).toContain('worker exited unasked; replacing it');
    // The replacement routes from the snapshot: both workers answer.
    for (let i = 0; i < 6; i++) expect((await http(v.dataUrl)).text).toBe('web-upstream');
  });

  it('SIGTERM: a slow request in flight on a worker ends with 200, new connections are refused, exit 0', async () => {
    const up = await h.upstream('slow-upstream', { delayMs: 3_000 });
    const v = await startWorkersVeer(h, {
      services: [service('web', [up.address])],
      proxy: { timeouts: { shutdown: '10s' } },
    });
    await allAcked(v, 2);
    const slow = http(`${v.dataUrl}/slow`, { timeoutMs: 15_000 });
    await waitFor(() => up.requests.some((r) => r.url === '/slow'), { what: 'the slow request upstream' });
    const exit = exited(v.child);
    v.child.kill('SIGTERM');
    await waitFor(() => refused(v.dataPort), { what: 'new connections refused', timeoutMs: 2_500, intervalMs: 20 });
    expect(up.hits).toBe(1);
    const r = await slow;
    expect(r.status).toBe(200);
    expect(r.text).toBe('slow-upstream');
    await withTimeout(exit, 15_000, 'veer to exit');
    expect(v.child.exitCode).toBe(0);
    expect(v.output()).toContain('workers closed');
  });

  it('SIGTERM while a replacement worker starts: it never listens, and veer exits 0', async () => {
    const up = await h.upstream('web-upstream');
    const v = await startWorkersVeer(h, {
      services: [service('web', [up.address])],
      proxy: { timeouts: { shutdown: '3s' } },
    });
    const before = (await workersOf(v)).workers.map((w) => w.pid);
    process.kill(before[0] as number, 'SIGKILL');
    // Forked, not yet started: a worker that has not listened yet.
    const booting = await waitFor(
      async () => (await workersOf(v)).workers.find((w) => !before.includes(w.pid) && !w.listening),
      { what: 'the replacement forked', timeoutMs: 20_000, intervalMs: 5 },
    );
    const exit = exited(v.child);
    const termAt = v.output().length;
    v.child.kill('SIGTERM');
    await withTimeout(exit, 20_000, 'veer to exit');
    expect(v.child.exitCode).toBe(0);
    expect(isAlive(booting.pid)).toBe(false);
    expect(v.output().slice(termAt)).not.toContain('worker listening');
  });

  it('workers whose primary is killed close and exit by themselves (no orphans)', async () => {
    const up = await h.upstream('web-upstream');
    const v = await startWorkersVeer(h, { services: [service('web', [up.address])] });
    const pids = (await workersOf(v)).workers.map((w) => w.pid);
    // Ended by pid whatever happens below (they are this test's processes' children).
    h.defer(async () => {
      for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    });
    v.child.kill('SIGKILL');
    await waitFor(() => pids.every((pid) => !isAlive(pid)), { what: 'the workers to exit', timeoutMs: 15_000 });
  });
});
