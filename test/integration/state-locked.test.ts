// Two `veer start` on one state file (the default file store): the second must not run beside the first,
// each rewriting the whole document from its own memory. It exits non-zero with one line naming the file,
// the lock and the pid holding it; the first keeps running and, stopped, leaves no lock behind.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runVeer } from '../helpers/cli.js';
import { stopChild } from '../helpers/process.js';
import { startVeerChild } from '../helpers/veer-child.js';
import { http, useHarness } from '../helpers/veer.js';

const h = useHarness();

describe('veer start on a state file another veer has open', () => {
  it('exits non-zero with one line naming the file and the pid that holds it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'veer-locked-'));
    h.defer(() => rm(dir, { recursive: true, force: true }));
    const path = join(dir, 'state.json');
    const state = { store: 'file', path };
    const first = await startVeerChild(h, { state, services: [] });
    const config = join(dir, 'second.yaml');
    await writeFile(
      config,
      `listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:0 }\nstate: { store: file, path: ${path} }\nservices: []\n`,
    );
    const second = await runVeer(['start', '-c', config]);
    expect(second.code).not.toBe(0);
    const lines = second.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toEqual([
      `error: cannot start veer: state file ${path} is in use by another veer (pid ${first.child.pid}): ` +
        `stop it or give this one another state.path (if pid ${first.child.pid} is no veer, remove ${path}.lock)`,
    ]);
    expect((await http(`${first.adminUrl}/readyz`)).status).toBe(200);
    await stopChild(first.child);
    await expect(stat(`${path}.lock`)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
