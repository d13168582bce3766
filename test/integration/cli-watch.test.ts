// `veer status --watch` as a child process against a real veer with real upstreams: piped, it prints
// plain blocks that follow traffic and a shift; with one service it refreshes on the event stream
// (long before its interval); an admin API that goes away shows "reconnecting…" and is read again when
// it is back; under a pseudo-terminal (util-linux `script`) it uses the alternate screen, repaints in
// place, fits the width, and Ctrl+C exits 0 with the cursor restored.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ENTER_SCREEN, LEAVE_SCREEN } from '../../src/cli/screen.js';
import { runVeer, spawnVeer, type CliChild } from '../helpers/cli.js';
import { killTracked, waitFor, withTimeout } from '../helpers/process.js';
import { socketRelay } from '../helpers/socket-relay.js';
import { startTraffic } from '../helpers/traffic.js';
import { admin, service, useHarness, type TestVeer } from '../helpers/veer.js';

const h = useHarness();
afterEach(() => killTracked());

/** tsx compiles the CLI at start: a loaded machine takes seconds before the first frame. */
const FIRST_FRAME_MS = 30_000;
const HEADER = 'veer status --watch';

async function veerWithCanary(): Promise<TestVeer> {
  const stable = await h.upstream('stable');
  const canary = await h.upstream('canary');
  return h.veer({ services: [service('web', [stable.address], [canary.address])] });
}

/** Plain output as blocks, each starting with its header line. */
function blocks(out: string): string[][] {
  const all: string[][] = [];
  for (const line of out.split('\n')) {
    if (line.startsWith(HEADER)) all.push([line]);
    else all.at(-1)?.push(line);
  }
  return all;
}

/** The row of service `web` in a block, split into its columns. */
const webRow = (b: string[]): string[] =>
  (b.find((l) => l.startsWith('web ')) ?? '').split(/\s{2,}/).filter((c) => c !== '');

const reqPerSecond = (row: string[]): [number, number] => {
  const [s, c] = (row[3] ?? '0/0').split('/').map(Number);
  return [s ?? 0, c ?? 0];
};

function watch(adminUrl: string, args: string[], wrap?: (argv: string[]) => string[]): CliChild {
  return spawnVeer(['status', '--watch', ...args], { env: { VEER_ADMIN_URL: adminUrl }, ...(wrap ? { wrap } : {}) });
}

const lastBlock = (w: CliChild): string[] => blocks(w.stdout()).at(-1) ?? [];

describe('veer status --watch', { timeout: 60_000 }, () => {
  it('piped: plain blocks that follow traffic and a shift, no escape codes; SIGTERM exits 0', async () => {
    const v = await veerWithCanary();
    const w = watch(v.adminUrl, ['--interval', '300ms']);
    await waitFor(() => webRow(lastBlock(w)).length > 0, { timeoutMs: FIRST_FRAME_MS, what: 'the first block' });
    expect(webRow(lastBlock(w)).slice(0, 4)).toEqual(['web', '0%', '-', '0.0/0.0']);

    const t = startTraffic({ url: v.url, rps: 60, maxMs: 30_000 });
    h.defer(() => t.stop());
    await waitFor(() => reqPerSecond(webRow(lastBlock(w)))[0] > 0, { timeoutMs: 10_000, what: 'stable req/s' });
    expect((await admin(v, 'POST', '/v1/services/web/shift', { weight: 30 })).status).toBe(200);
    await waitFor(() => webRow(lastBlock(w))[1] === '30%' && reqPerSecond(webRow(lastBlock(w)))[1] > 0, {
      timeoutMs: 10_000,
      what: 'a block with the shifted weight and canary traffic',
    });
    await t.stop();

    const all = blocks(w.stdout());
    expect(all.length).toBeGreaterThanOrEqual(3);
    // A block is printed only when its numbers changed.
    for (let i = 1; i < all.length; i++) expect(all[i]?.slice(1)).not.toEqual(all[i - 1]?.slice(1));
    expect(w.stdout()).not.toContain('\x1b');
    w.child.kill('SIGTERM');
    expect(await withTimeout(w.exit, 10_000, 'the watch to exit')).toBe(0);
    expect(w.stderr()).toBe('');
  });

  it('one service: its events arrive over the stream, long before the next interval', async () => {
    const v = await veerWithCanary();
    const w = watch(v.adminUrl, ['web', '--interval', '60s']);
    await waitFor(() => lastBlock(w).includes('latest events:'), {
      timeoutMs: FIRST_FRAME_MS,
      what: 'the first block',
    });
    await waitFor(() => lastBlock(w)[0]?.includes(' · live · '), { timeoutMs: 10_000, what: 'the live stream' });
    const shifted = Date.now();
    expect((await admin(v, 'POST', '/v1/services/web/shift', { weight: 40 })).status).toBe(200);
    // The weight (a status) and the event come over the stream one after the other: a block may show the one
    // before the other, so the wait is for a block with both (ci84 read the 40% a block before its event).
    const shownBoth = (block: string[]): boolean =>
      webRow(block)[1] === '40%' &&
      block.slice(block.indexOf('latest events:') + 1).some((l) => /\d\d:\d\d:\d\d {2}shifted/.test(l));
    // One read of the last block per check: two reads could take the weight and the event from different blocks.
    await waitFor(() => shownBoth(lastBlock(w)), { timeoutMs: 10_000, what: 'the shift and its event in a block' });
    expect(Date.now() - shifted).toBeLessThan(30_000);
    w.child.kill('SIGINT');
    expect(await withTimeout(w.exit, 10_000, 'the watch to exit')).toBe(0);
  });

  it('refuses what cannot work: an unknown service (exit 1), options that do not go together (64)', async () => {
    const v = await veerWithCanary();
    const env = { VEER_ADMIN_URL: v.adminUrl };
    const unknown = await runVeer(['status', 'nosuch', '--watch'], { env });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nosuch/);
    expect(unknown.stdout).toBe('');
    for (const [args, why] of [
      [['status', '--interval', '1s'], /--interval and --timeout go with --watch/],
      [['status', '--watch', '--json'], /--json and --watch do not go together/],
      [['status', '--watch', '--interval', '10ms'], /--interval: expected a duration of at least 250ms/],
    ] as const) {
      const r = await runVeer([...args], { env });
      expect(r.code, args.join(' ')).toBe(64);
      expect(r.stderr).toMatch(why);
    }
  });

  it('a lost admin API shows reconnecting… and is read again once it is back', async () => {
    const v = await veerWithCanary();
    const relay = socketRelay({ host: '127.0.0.1', port: Number(new URL(v.adminUrl).port) });
    let front = net.createServer((c) => relay.accept(c));
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r));
    const port = (front.address() as net.AddressInfo).port;
    h.defer(() => {
      relay.cutAll();
      return new Promise((r) => front.close(r));
    });
    const w = watch(`http://127.0.0.1:${port}`, ['--interval', '300ms']);
    await waitFor(() => webRow(lastBlock(w)).length > 0, { timeoutMs: FIRST_FRAME_MS, what: 'the first block' });

    // close() waits for open connections, so they are cut while it waits.
    const closed = new Promise((r) => front.close(r));
    relay.cutAll();
    await closed;
    await waitFor(() => lastBlock(w)[1]?.startsWith('reconnecting… cannot reach veer admin'), {
      timeoutMs: 10_000,
      what: 'reconnecting…',
    });
    expect(webRow(lastBlock(w))[1]).toBe('0%');

    front = net.createServer((c) => relay.accept(c));
    await new Promise<void>((r) => front.listen(port, '127.0.0.1', r));
    expect((await admin(v, 'POST', '/v1/services/web/shift', { weight: 20 })).status).toBe(200);
    await waitFor(() => lastBlock(w)[1] === '' && webRow(lastBlock(w))[1] === '20%', {
      timeoutMs: 15_000,
      what: 'the numbers again after the outage',
    });
    w.child.kill('SIGINT');
    expect(await withTimeout(w.exit, 10_000, 'the watch to exit')).toBe(0);
  });

  it('on a terminal: alternate screen, in-place repaints within the width, Ctrl+C exits 0 restoring it', async () => {
    const v = await veerWithCanary();
    const cols = 60;
    const pty = (argv: string[]): string[] => [
      'script',
      '-qfec',
      `stty cols ${cols} rows 30; exec ${argv.map((a) => `'${a}'`).join(' ')}`,
      '/dev/null',
    ];
    const w = watch(v.adminUrl, ['--interval', '300ms'], pty);
    const t = startTraffic({ url: v.url, rps: 60, maxMs: 30_000 });
    h.defer(() => t.stop());
    // Frames after the first rewrite the header (its clock) in place.
    const repaints = (): number => w.stdout().split('\x1b[1;1H').length - 1;
    await waitFor(() => w.stdout().includes('web ') && repaints() >= 3, {
      timeoutMs: FIRST_FRAME_MS,
      what: 'three frames on the terminal',
    });
    w.child.stdin?.write('\x03');
    expect(await withTimeout(w.exit, 10_000, 'the watch to exit on Ctrl+C')).toBe(0);

    const out = w.stdout();
    expect(out.startsWith(ENTER_SCREEN)).toBe(true);
    expect(out.split('\x1b[2J').length - 1).toBe(1);
    expect(out.trimEnd().endsWith(LEAVE_SCREEN)).toBe(true);
    // Every painted line fits the width: it sits between a cursor move and a clear to its end.
    const painted = [...out.matchAll(/\x1b\[\d+;1H([^\x1b]*)\x1b\[K/g)].map((m) => m[1] ?? '');
    expect(painted.length).toBeGreaterThan(5);
    for (const line of painted) expect([...line].length).toBeLessThanOrEqual(cols);
    expect(painted.some((l) => l.endsWith('…'))).toBe(true);
  });
});
