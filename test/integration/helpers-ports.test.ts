// The helpers that give tests their ports: a port picked ahead of a server's start is below the OS's
// ephemeral range and claimed (no two callers share one), and a `veer start` child's ports are read
// from its own "veer started" line, failing at once when it exits instead of waiting out a timeout.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { releaseClaims } from '../helpers/free-port.js';
import { freePort, killTracked, spawnTracked, waitFor } from '../helpers/process.js';
import { portOf, veerStarted } from '../helpers/veer-started.js';

afterAll(() => killTracked());

const ephemeralLow = (): number =>
  Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

/** A child printing `lines` on stderr, then staying (`stay`) or exiting 3. */
function child(lines: string[], stay: boolean) {
  const script = `process.stderr.write(${JSON.stringify(lines.join('\n') + '\n')}); ${
    stay ? 'setTimeout(() => {}, 60_000)' : 'process.exitCode = 3'
  }`;
  const c = spawnTracked(process.execPath, ['-e', script]);
  let out = '';
  c.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  return { c, output: () => out };
}

describe('freePort', () => {
  it('gives distinct ports below the ephemeral range, each one bindable', async () => {
    const ports = await Promise.all(Array.from({ length: 40 }, () => freePort()));
    expect(new Set(ports).size).toBe(40);
    const low = ephemeralLow();
    for (const p of ports) expect(p < low && p >= 1024, `port ${p}`).toBe(true);
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(ports[0], '127.0.0.1', r));
    await new Promise<void>((r) => srv.close(() => r()));
  });

  it("claims each port for this run, and the run's end releases only its own claims", async () => {
    const port = await freePort();
    const mine = join(tmpdir(), 'veer-test-ports', String(port));
    expect(readFileSync(mine, 'utf8')).toBe(String(process.ppid));
    const other = join(tmpdir(), 'veer-test-ports', '1');
    writeFileSync(other, 'another-run');
    expect(releaseClaims('another-run')).toBe(1);
    expect([existsSync(other), existsSync(mine)]).toEqual([false, true]);
  });
});

describe('veerStarted', () => {
  const line = JSON.stringify({ level: 'info', msg: 'veer started', listen: '127.0.0.1:41001', admin: '[::1]:41002' });

  it('reads the data and admin addresses from the "veer started" line among others', async () => {
    const { c, output } = child(['not json', '{"msg":"starting"}', line], true);
    const at = await veerStarted(c, output, 20_000);
    expect(at).toEqual({ listen: '127.0.0.1:41001', admin: '[::1]:41002' });
    expect([portOf(at.listen), portOf(at.admin)]).toEqual([41001, 41002]);
  });

  it('fails at once, with the output, when the child exits before that line', async () => {
    const { c, output } = child(['{"level":"error","msg":"listen EADDRINUSE"}'], false);
    // Bounded at 60 s, but the test's own 5 s bound fails first unless the exit is noticed.
    await expect(veerStarted(c, output, 60_000)).rejects.toThrow(/exited before it started: .*EADDRINUSE/);
  });

  it('times out, with the output, when the line never comes', async () => {
    const { c, output } = child(['{"msg":"still starting"}'], true);
    // The child's line first: a loaded host took longer than the 500 ms bound to start node (ci79).
    await waitFor(() => output().includes('still starting'), { timeoutMs: 20_000, what: "the child's line" });
    await expect(veerStarted(c, output, 500)).rejects.toThrow(/timed out after 500 ms .*still starting/);
  });
});
