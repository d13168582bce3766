// watchConfigFile against real files in a temporary directory: a plain file replaced by rename, a
// ConfigMap-style `..data` link swapped to a new directory, a symlinked file edited where it really is,
// and a link in a third directory that no watched directory sees change (the stat poll's case).
// Each change must reload exactly once: the next change's reload is awaited before counting.
import { appendFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/domain/log.js';
import { watchConfigFile, type ConfigWatch } from '../../../src/reload/watch.js';
import { waitFor } from '../../helpers/process.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'veer-watch-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// A minute's poll leaves the directory watches to see a change; the poll's own test makes it short.
function watching(path: string, pollMs = 60_000): { count: () => number } {
  let fired = 0;
  const w: ConfigWatch = watchConfigFile(path, 30, () => (fired += 1), silentLogger, { pollMs });
  cleanups.push(() => w.close());
  return { count: () => fired };
}

/** Applies each change in turn, waiting for its reload; a second reload of one change shows in the count. */
async function expectOneReloadEach(w: { count: () => number }, changes: Array<() => void>): Promise<void> {
  for (const [i, change] of changes.entries()) {
    change();
    await waitFor(() => w.count() > i, { timeoutMs: 5_000, what: `the reload of change ${i + 1}` });
  }
  expect(w.count()).toBe(changes.length);
}

describe('watchConfigFile', () => {
  it('reloads once when an editor renames a new file over the config', async () => {
    const dir = tempDir();
    const path = join(dir, 'veer.yaml');
    writeFileSync(path, 'a: 1\n');
    const w = watching(path);
    const replace = (text: string) => () => {
      writeFileSync(join(dir, '.veer.yaml.swp'), text);
      renameSync(join(dir, '.veer.yaml.swp'), path);
    };
    await expectOneReloadEach(w, [replace('a: 2\n'), replace('a: 3\n')]);
  });

  it('reloads once per ConfigMap-style swap of the ..data link', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, '..v1'));
    writeFileSync(join(dir, '..v1', 'veer.yaml'), 'a: 1\n');
    symlinkSync('..v1', join(dir, '..data'));
    symlinkSync('..data/veer.yaml', join(dir, 'veer.yaml'));
    const w = watching(join(dir, 'veer.yaml'));
    // What the kubelet does: a new directory, a new link renamed over ..data, the old directory removed.
    const swap = (from: string, to: string, text: string) => () => {
      mkdirSync(join(dir, to));
      writeFileSync(join(dir, to, 'veer.yaml'), text);
      symlinkSync(to, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, from), { recursive: true });
    };
    await expectOneReloadEach(w, [swap('..v1', '..v2', 'a: 2\n'), swap('..v2', '..v3', 'a: 3\n')]);
  });

  it('reloads once per edit of the file a symlinked config points to', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'conf'));
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real', 'veer.yaml'), 'a: 1\n');
    symlinkSync(join(root, 'real', 'veer.yaml'), join(root, 'conf', 'veer.yaml'));
    const w = watching(join(root, 'conf', 'veer.yaml'));
    const edit = (text: string) => () => appendFileSync(join(root, 'real', 'veer.yaml'), text);
    await expectOneReloadEach(w, [edit('b: 2\n'), edit('c: 3\n')]);
  });

  it('a link in a directory no watch covers is seen by the stat poll', async () => {
    const root = tempDir();
    for (const d of ['conf', 'links', 'v1', 'v2']) mkdirSync(join(root, d));
    writeFileSync(join(root, 'v1', 'veer.yaml'), 'a: 1\n');
    writeFileSync(join(root, 'v2', 'veer.yaml'), 'a: 2\n');
    symlinkSync(join(root, 'v1'), join(root, 'links', 'current'));
    symlinkSync(join(root, 'links', 'current', 'veer.yaml'), join(root, 'conf', 'veer.yaml'));
    const w = watching(join(root, 'conf', 'veer.yaml'), 50);
    const point = (to: string) => () => {
      symlinkSync(join(root, to), join(root, 'links', 'next'));
      renameSync(join(root, 'links', 'next'), join(root, 'links', 'current'));
    };
    await expectOneReloadEach(w, [point('v2'), point('v1')]);
  });

  it('close() stops every source: a later change reloads nothing', async () => {
    const root = tempDir();
    mkdirSync(join(root, 'real'));
    writeFileSync(join(root, 'real', 'veer.yaml'), 'a: 1\n');
    symlinkSync(join(root, 'real', 'veer.yaml'), join(root, 'veer.yaml'));
    let fired = 0;
    const w = watchConfigFile(join(root, 'veer.yaml'), 10, () => (fired += 1), silentLogger, { pollMs: 10 });
    w.close();
    appendFileSync(join(root, 'real', 'veer.yaml'), 'b: 2\n');
    // A canary watch on the same file shows the change was observable; the closed one stayed quiet.
    const canary = watching(join(root, 'veer.yaml'), 10);
    appendFileSync(join(root, 'real', 'veer.yaml'), 'c: 3\n');
    await waitFor(() => canary.count() > 0, { timeoutMs: 5_000, what: "the canary's reload" });
    expect(fired).toBe(0);
  });
});
