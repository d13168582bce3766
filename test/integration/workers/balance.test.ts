// The primary hands each connection to the worker with the fewest open (worker-choice.ts). Handing it to the
// first worker free split keep-alive connections by who answered fastest in the moment: a worker that fell
// behind once stayed behind for the connections' life (wrk's 64 were seen split 5 / 59).
import { Agent, request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { isAlive, waitFor } from '../../helpers/process.js';
import { startWorkersVeer, WORKERS_TEST_MS, workersOf } from '../../helpers/workers.js';
import { service, useHarness } from '../../helpers/veer.js';
import type { VeerChild } from '../../helpers/veer-child.js';

const h = useHarness();

/** Every agent the test made: destroying them closes every connection. */
const agents: Agent[] = [];

/** `n` keep-alive connections opened at once (one request each, answered), kept open afterwards. */
function burst(v: VeerChild, n: number): Promise<number[]> {
  // An agent of its own: another's idle sockets would carry these requests instead of new connections.
  const agent = new Agent({ keepAlive: true, maxSockets: n });
  agents.push(agent);
  h.defer(() => agent.destroy());
  const one = (): Promise<number> =>
    new Promise((resolve, reject) => {
      const r = request(v.dataUrl, { agent, timeout: 30_000 }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      r.on('timeout', () => r.destroy(new Error('no answer in 30 s')));
      r.on('error', reject);
      r.end();
    });
  return Promise.all(Array.from({ length: n }, one));
}

/** Each worker's open connections by pid, once they add up to `total` (the counts come with takes and gauges). */
async function connectionsBy(v: VeerChild, total: number): Promise<Map<number, number>> {
  return waitFor(
    async () => {
      const { workers } = await workersOf(v);
      const sum = workers.reduce((n, w) => n + w.connections, 0);
      return sum === total ? new Map(workers.map((w) => [w.pid, w.connections])) : null;
    },
    { what: `the workers to report ${total} connections`, timeoutMs: 15_000, intervalMs: 100 },
  );
}

describe('workers: connections go to the worker with the fewest', { timeout: WORKERS_TEST_MS }, () => {
  it('a worker behind by nine gets the next connections until the two are even', async () => {
    const up = await h.upstream('web-upstream');
    const v = await startWorkersVeer(h, { services: [service('web', [up.address])] });
    const [behind, ahead] = (await workersOf(v)).workers.map((w) => w.pid) as [number, number];
    h.defer(() => {
      if (isAlive(behind)) process.kill(behind, 'SIGCONT');
    });

    // One worker stopped: ten connections at once, one of which waits in its hand; the other nine go to the
    // worker that runs (the stopped one is waited for a few milliseconds at most).
    process.kill(behind, 'SIGSTOP');
    const first = burst(v, 10);
    await waitFor(async () => (await workersOf(v)).workers.find((w) => w.pid === ahead)?.connections === 9, {
      what: 'nine connections in the running worker',
      timeoutMs: 15_000,
    });
    process.kill(behind, 'SIGCONT');
    expect(await first).toEqual(new Array(10).fill(200));
    expect(await connectionsBy(v, 10)).toEqual(
      new Map([
        [ahead, 9],
        [behind, 1],
      ]),
    );

    // Ten more, one after another (both workers free each time, so no wait is involved): the worker behind takes
    // them until it has caught up. Handed to whichever had been free longest, they alternated: 14 / 6.
    for (let i = 0; i < 10; i++) expect(await burst(v, 1)).toEqual([200]);
    const after = await connectionsBy(v, 20);
    expect(Math.abs((after.get(ahead) ?? 0) - (after.get(behind) ?? 0))).toBeLessThanOrEqual(2);

    // Closed connections leave the counts with the workers' next reports.
    for (const a of agents.splice(0)) a.destroy();
    expect(await connectionsBy(v, 0)).toEqual(
      new Map([
        [ahead, 0],
        [behind, 0],
      ]),
    );
  });
});
