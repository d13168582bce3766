import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { seededRandom } from '../../src/domain/clock.js';
import { errorMessage } from '../../src/domain/errors.js';
import { currentOwner, LOCK_RENEW_MS, LOCK_STALE_MS, StateLockedError } from '../../src/store/file-lock.js';
import { FileStore, StateCorruptError } from '../../src/store/file.js';
import { waitFor, withTimeout } from '../helpers/process.js';
import { describeStateStoreContract } from '../unit/store/contract.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let base = '';
let seq = 0;
const newDir = async () => {
  const dir = join(base, `t${++seq}`);
  await mkdir(dir, { recursive: true });
  return dir;
};

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'veer-filestore-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describeStateStoreContract('FileStore', async () => ({
  store: await FileStore.open(join(await newDir(), 'state.json')),
}));

describe('FileStore persistence', () => {
  it('creates parent directories and writes the documented format', async () => {
    const file = join(await newDir(), 'a', 'b', 'state.json');
    const s = await FileStore.open(file);
    await s.put('svc/web', { weight: 2500 });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      format: 1,
      entries: { 'svc/web': { value: { weight: 2500 }, version: 1 } },
    });
    await s.close();
  });

  it('writes the file readable by its owner only (it may hold private keys), whatever the umask', async () => {
    const file = join(await newDir(), 'state.json');
    const before = process.umask(0);
    try {
      const s = await FileStore.open(file);
      await s.put('acme/account', { key: { plain: 'PEM' } });
      await s.put('acme/account', { key: { plain: 'PEM 2' } });
      await s.close();
    } finally {
      process.umask(before);
    }
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('reads back values, versions and deletions after reopening', async () => {
    const file = join(await newDir(), 'state.json');
    const s1 = await FileStore.open(file);
    await s1.put('a', { n: 1 });
    await s1.put('a', { n: 2 }, 1);
    await s1.put('b', ['x']);
    await s1.put('gone', 1);
    await s1.delete('gone');
    await s1.close();
    const s2 = await FileStore.open(file);
    expect(await s2.get('a')).toEqual({ value: { n: 2 }, version: 2 });
    expect(await s2.get('b')).toEqual({ value: ['x'], version: 1 });
    expect(await s2.keys('')).toEqual(['a', 'b']);
    expect(await s2.put('a', { n: 3 }, 1)).toEqual({ ok: false, reason: 'version-conflict', currentVersion: 2 });
    await s2.close();
  });

  it('serializes concurrent writes: every put gets its own version and the file holds the last', async () => {
    const file = join(await newDir(), 'state.json');
    const s = await FileStore.open(file);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => s.put('k', { i })));
    expect(results.map((r) => (r.ok ? r.version : -1))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    await s.close();
    expect(JSON.parse(await readFile(file, 'utf8')).entries.k).toEqual({ value: { i: 39 }, version: 40 });
  });

  it('a failed write rejects, changes nothing, and does not block later operations', async () => {
    const dir = await newDir();
    const file = join(dir, 'sub', 'state.json');
    const s = await FileStore.open(file);
    await s.put('k', 'v1');
    await rm(join(dir, 'sub'), { recursive: true });
    await expect(s.put('k', 'v2')).rejects.toMatchObject({ code: 'unavailable' });
    expect(await s.get('k')).toEqual({ value: 'v1', version: 1 });
    await mkdir(join(dir, 'sub'));
    expect(await s.put('k', 'v2', 1)).toEqual({ ok: true, version: 2 });
    await s.close();
  });

  it('ignores and removes temp files left by a crash', async () => {
    const dir = await newDir();
    const file = join(dir, 'state.json');
    await writeFile(file, JSON.stringify({ format: 1, entries: { k: { value: 'good', version: 7 } } }));
    await writeFile(join(dir, 'state.json.tmp-999-3'), '{"format":1,"entries":{"k":{"value":"torn');
    await writeFile(join(dir, 'other.txt'), 'not ours');
    const s = await FileStore.open(file);
    expect(await s.get('k')).toEqual({ value: 'good', version: 7 });
    expect((await readdir(dir)).sort()).toEqual(['other.txt', 'state.json', 'state.json.lock']);
    await s.close();
  });
});

describe('FileStore lock', () => {
  const lockOf = (file: string) => `${file}.lock`;
  const writeLock = (file: string, owner: Record<string, unknown>) =>
    writeFile(lockOf(file), JSON.stringify({ ...currentOwner(), id: 'theirs', ...owner }));
  const refusal = (file: string) =>
    FileStore.open(file).then(
      () => null,
      (e: unknown) => e,
    );

  /** A process that stays alive until the test kills it. */
  async function liveProcess(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    return child;
  }

  it('a second open of the same file fails naming it; close releases it for the next', async () => {
    const file = join(await newDir(), 'state.json');
    const first = await FileStore.open(file);
    await first.put('k', 1);
    const e = await refusal(file);
    expect(e).toBeInstanceOf(StateLockedError);
    expect(e).toMatchObject({ code: 'state_locked', file });
    expect((e as Error).message).toContain(file);
    await first.close();
    await expect(stat(lockOf(file))).rejects.toMatchObject({ code: 'ENOENT' });
    const second = await FileStore.open(file);
    expect(await second.get('k')).toEqual({ value: 1, version: 1 });
    await second.close();
  });

  it('refuses while another live process holds it, and leaves that process’s temp files alone', async () => {
    const dir = await newDir();
    const file = join(dir, 'state.json');
    const other = await liveProcess();
    try {
      await writeLock(file, { pid: other.pid });
      const inFlight = join(dir, `state.json.tmp-${other.pid}-1`);
      await writeFile(inFlight, '{"format":1');
      const e = await refusal(file);
      expect(e).toMatchObject({ code: 'state_locked' });
      expect((e as Error).message).toContain(`pid ${other.pid}`);
      expect((await readdir(dir)).sort()).toEqual(['state.json.lock', `state.json.tmp-${other.pid}-1`]);
    } finally {
      other.kill('SIGKILL');
    }
  });

  it('takes over a lock whose process is gone (same host) and releases it at close', async () => {
    const file = join(await newDir(), 'state.json');
    const gone = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
    await new Promise((r) => gone.once('exit', r));
    await writeLock(file, { pid: gone.pid });
    const s = await FileStore.open(file);
    expect(JSON.parse(await readFile(lockOf(file), 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
    await s.close();
    await expect(stat(lockOf(file))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('refuses a lock from another host, saying to remove it if that veer is gone', async () => {
    const file = join(await newDir(), 'state.json');
    await writeLock(file, { pid: 1, hostname: `not-${hostname()}` });
    const e = await refusal(file);
    expect(e).toMatchObject({ code: 'state_locked' });
    expect((e as Error).message).toContain(`remove ${lockOf(file)}`);
  });

  it('takes over a lock from another host or container that its holder stopped renewing', async () => {
    const file = join(await newDir(), 'state.json');
    await writeLock(file, { pid: 1, hostname: `not-${hostname()}` });
    const old = new Date(Date.now() - LOCK_STALE_MS - 5_000);
    await utimes(lockOf(file), old, old);
    const s = await FileStore.open(file);
    expect(JSON.parse(await readFile(lockOf(file), 'utf8'))).toMatchObject({ pid: process.pid, hostname: hostname() });
    await s.close();
  });

  it('renews its own lock while it holds it, and stops at close', async () => {
    const file = join(await newDir(), 'state.json');
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const s = await FileStore.open(file);
    const old = new Date(Date.now() - LOCK_STALE_MS - 5_000);
    await utimes(lockOf(file), old, old);
    vi.advanceTimersByTime(LOCK_RENEW_MS);
    vi.useRealTimers();
    const renewed = async () => Date.now() - (await stat(lockOf(file))).mtimeMs < LOCK_STALE_MS;
    expect(await waitFor(renewed, { what: 'the lock renewed', timeoutMs: 2_000, intervalMs: 10 })).toBe(true);
    await s.close();
  });

  it('a file it cannot use leaves no lock behind', async () => {
    const file = join(await newDir(), 'state.json');
    await writeFile(file, '{');
    expect(await refusal(file)).toMatchObject({ code: 'state_corrupt' });
    await expect(stat(lockOf(file))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('FileStore corrupt state', () => {
  const cases: [string, string, RegExp][] = [
    ['invalid JSON', '{"format":1,"entries":{', /not valid JSON/],
    ['an empty file', '', /the file is empty/],
    ['an unknown format', '{"format":2,"entries":{}}', /unsupported format 2/],
    ['entries that are not an object', '{"format":1,"entries":[]}', /"entries" must be an object/],
    ['a bad version', '{"format":1,"entries":{"k":{"value":1,"version":0}}}', /entry "k" has an invalid version 0/],
    ['an entry without a value', '{"format":1,"entries":{"k":{"version":1}}}', /entry "k" must be an object/],
  ];
  for (const [what, text, problem] of cases) {
    it(`rejects ${what} with state_corrupt naming the file`, async () => {
      const file = join(await newDir(), 'state.json');
      await writeFile(file, text);
      const e = await FileStore.open(file).then(
        () => null,
        (x: unknown) => x,
      );
      expect(e).toBeInstanceOf(StateCorruptError);
      expect(e).toMatchObject({ code: 'state_corrupt', file });
      expect((e as Error).message).toContain(file);
      expect((e as Error).message).toMatch(problem);
    });
  }

  it('rejects an unreadable path (a directory) with state_corrupt', async () => {
    const file = join(await newDir(), 'state.json');
    await mkdir(file);
    await expect(FileStore.open(file)).rejects.toMatchObject({
      code: 'state_corrupt',
      message: expect.stringContaining('EISDIR'),
    });
  });
});

// A child process writes as fast as it can and reports each acknowledged version on stdout (a pipe,
// written synchronously on Linux); it is SIGKILLed at a random moment and the file must still parse
// and hold at least the last acknowledged version.
describe('FileStore crash safety', () => {
  const children = new Set<ChildProcess>();
  afterEach(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    children.clear();
  });

  const WRITER = `
import { FileStore } from ${JSON.stringify(pathToFileURL(join(root, 'src/store/file.ts')).href)};
const store = await FileStore.open(process.argv[2]);
const pad = 'x'.repeat(Number(process.argv[3]));
process.stdout.write('ready\\n');
for (let i = 0; i < 1_000_000; i++) {
  const cur = (await store.get('counter'))?.version ?? 0;
  const r = await store.put('counter', { n: cur + 1, pad }, cur);
  if (!r.ok) throw new Error('unexpected conflict');
  process.stdout.write('ack ' + r.version + '\\n');
}
`;

  async function runAndKill(script: string, file: string, killAfterMs: number): Promise<{ lastAck: number }> {
    const child = spawn(process.execPath, ['--import', 'tsx', script, file, '150000'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((res) => child.once('exit', () => res()));
    let lastAck = 0;
    let ready = false;
    const lines = createInterface({ input: child.stdout! });
    const firstAck = new Promise<void>((resolve, reject) => {
      lines.on('line', (line) => {
        if (line === 'ready') ready = true;
        else if (line.startsWith('ack ')) {
          lastAck = Number(line.slice(4));
          if (ready) resolve();
        }
      });
      void exited.then(() => reject(new Error(`writer exited before its first write: ${stderr}`)));
    });
    await withTimeout(firstAck, 10_000, 'the writer to acknowledge its first write').catch((e: unknown) => {
      throw new Error(`${errorMessage(e)}; stderr: ${stderr}`);
    });
    // Not a synchronisation: the kill lands at a random moment of the write loop, which is the point.
    await delay(killAfterMs);
    child.kill('SIGKILL');
    await exited;
    lines.close();
    expect(child.signalCode).toBe('SIGKILL');
    return { lastAck };
  }

  it('survives SIGKILL at random moments with every acknowledged write intact', { timeout: 90_000 }, async () => {
    const dir = await newDir();
    const file = join(dir, 'state.json');
    const script = join(dir, 'writer.mjs');
    await writeFile(script, WRITER);
    const seed = Date.now() >>> 0;
    const random = seededRandom(seed);
    let previous = 0;
    for (let round = 0; round < 4; round++) {
      const { lastAck } = await runAndKill(script, file, Math.floor(random() * 250));
      const context = `seed ${seed}, round ${round}, last ack ${lastAck}`;
      const doc = JSON.parse(await readFile(file, 'utf8')) as {
        format: number;
        entries: Record<string, { value: { n: number }; version: number }>;
      };
      expect(doc.format, context).toBe(1);
      const s = await FileStore.open(file);
      const got = await s.get<{ n: number }>('counter');
      await s.close();
      // At most one put was in flight (unacknowledged) when the kill landed.
      expect(got?.version, context).toBeGreaterThanOrEqual(lastAck);
      expect(got?.version, context).toBeLessThanOrEqual(lastAck + 1);
      expect(got?.value.n, context).toBe(got?.version);
      expect(got!.version, context).toBeGreaterThan(previous);
      expect(
        (await readdir(dir)).filter((n) => n.includes('.tmp-')),
        context,
      ).toEqual([]);
      previous = got!.version;
    }
  });
});
