// Which data-plane processes scavenge without V8's helper threads (src/workers/scavenge.ts): those with no
// core to spare. A veer pinned to one core says so and serves; unpinned on a host with a core more than
// its data plane, it does not; forked workers carry the flag on their command line when the cores are
// no more than the workers.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { startVeerChild } from '../../helpers/veer-child.js';
import { startWorkersVeer, workersOf, WORKERS_TEST_MS } from '../../helpers/workers.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();
const SAID = 'young generation collected without helper threads';
const cmdline = (pid: number): string[] => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');

describe('scavenges without helper threads where no core is spare', { timeout: WORKERS_TEST_MS }, () => {
  it('a veer pinned to one core (taskset) scavenges alone, says so once, and serves', async () => {
    const up = await h.upstream('stable');
    const v = await startVeerChild(
      h,
      { services: [service('web', [up.address])] },
      undefined,
      [],
      ['taskset', '-c', '0'],
    );
    expect((await http(`${v.dataUrl}/`)).status).toBe(200);
    const said = v
      .output()
      .split('\n')
      .filter((l) => l.includes(SAID));
    expect(said).toHaveLength(1);
    expect(JSON.parse(said[0] as string)).toMatchObject({ level: 'info', cores: 1, dataPlanes: 1 });
  });

  it.skipIf(availableParallelism() < 2)('unpinned with a core to spare, it keeps the helpers', async () => {
    const up = await h.upstream('stable');
    const v = await startVeerChild(h, { services: [service('web', [up.address])] });
    expect((await http(`${v.dataUrl}/`)).status).toBe(200);
    expect(v.output()).not.toContain(SAID);
  });

  it('forked workers carry the flag when the cores are no more than the workers', async () => {
    const up = await h.upstream('stable');
    const v = await startWorkersVeer(h, { services: [service('web', [up.address])] }, 2);
    const pids = (await workersOf(v)).workers.map((w) => w.pid);
    expect(pids).toHaveLength(2);
    const serial = availableParallelism() <= 2;
    for (const pid of pids) expect(cmdline(pid).includes('--no-parallel-scavenge')).toBe(serial);
    expect(cmdline(v.child.pid as number)).not.toContain('--no-parallel-scavenge');
    expect((await http(`${v.dataUrl}/`)).status).toBe(200);
  });
});
