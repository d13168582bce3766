// A real `veer start` meeting an error nothing handled. A preload (written here, loaded before veer) turns
// two signals into the two kinds: SIGUSR2 rejects a promise no one awaits, SIGWINCH throws from a callback.
// veer logs both as JSON lines; the rejection leaves it serving, the exception ends it with 1.
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor, withTimeout } from '../helpers/process.js';
import { startVeerChild, type VeerChild } from '../helpers/veer-child.js';
import { http, service, useHarness } from '../helpers/veer.js';

const h = useHarness();

const PRELOAD = `
process.on('SIGUSR2', () => { Promise.reject(new Error('stray rejection ' + Date.now())); });
process.on('SIGWINCH', () => { setImmediate(() => { throw new Error('stray exception from the test'); }); });
`;

async function veerWithPreload(): Promise<VeerChild> {
  const up = await h.upstream('stable');
  const dir = await mkdtemp(join(tmpdir(), 'veer-stray-'));
  h.defer(() => rm(dir, { recursive: true, force: true }));
  const preload = join(dir, 'stray.mjs');
  await writeFile(preload, PRELOAD);
  return startVeerChild(h, { services: [service('web', [up.address])] }, 20_000, ['--import', preload]);
}

const linesWith = (out: string, msg: string): Record<string, unknown>[] =>
  out
    .split('\n')
    .filter((l) => l.startsWith('{') && l.includes(msg))
    .map((l) => JSON.parse(l) as Record<string, unknown>);

describe('errors nothing handled, in a running veer', () => {
  it('a stray rejection is logged with its stack and veer keeps serving, again and again', async () => {
    const v = await veerWithPreload();
    for (let i = 1; i <= 3; i++) {
      v.child.kill('SIGUSR2');
      await waitFor(() => linesWith(v.output(), 'unhandled promise rejection').length === i, {
        what: `rejection line ${i}`,
        timeoutMs: 10_000,
      });
      expect((await http(`${v.dataUrl}/`)).status).toBe(200);
    }
    const [line] = linesWith(v.output(), 'unhandled promise rejection');
    expect(line?.level).toBe('error');
    expect(String(line?.error)).toMatch(/^stray rejection \d+$/);
    expect(String(line?.stack)).toContain('stray.mjs');
    expect(v.child.exitCode).toBeNull();
    expect((await http(`${v.adminUrl}/readyz`)).status).toBe(200);
  });

  it('a stray exception is logged as a JSON line and the process ends with 1', async () => {
    const v = await veerWithPreload();
    const exited = once(v.child, 'exit');
    v.child.kill('SIGWINCH');
    const [code] = (await withTimeout(exited, 10_000, 'veer to exit')) as [number | null];
    expect(code).toBe(1);
    const [line] = linesWith(v.output(), 'uncaught exception: exiting');
    expect(line?.level).toBe('error');
    expect(line?.error).toBe('stray exception from the test');
  });
});
