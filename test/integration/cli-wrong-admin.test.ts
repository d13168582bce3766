// The built CLI (dist/cli.js, `npm run build` first) against servers that are not veer's admin API, or
// not any more: real node:http servers on 127.0.0.1:0 answering JSON of the wrong shape, `null`,
// nothing at all, or going away in the middle of `rollout --wait`. Every command must say what was
// wrong and exit non-zero, never print "undefined", a TypeError or OpenSSL's internals.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runVeer, type CliRun } from '../helpers/cli.js';
import { waitFor } from '../helpers/process.js';
import { deadPort, hasStackTrace, service, startRawServer, useHarness, type RawServer } from '../helpers/veer.js';

const h = useHarness();
const servers: RawServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const s = await startRawServer(handler);
  servers.push(s);
  return `http://${s.address}`;
}

const json =
  (body: string, status = 200) =>
  (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };

const veer = (args: string[], admin: string, timeoutMs?: number): Promise<CliRun> =>
  runVeer(args, { entry: 'dist', env: { VEER_ADMIN_URL: admin }, ...(timeoutMs ? { timeoutMs } : {}) });

/** Nothing of JavaScript's own error text, and no raw undefined/object rendering. */
function expectClean(r: CliRun): void {
  const all = r.stdout + r.stderr;
  expect(hasStackTrace(all), all).toBe(false);
  expect(all).not.toMatch(/TypeError|is not a function|Cannot read properties|\bundefined\b|\[object Object\]/);
}

const COMMANDS = [
  ['shift', 'web', '10'],
  ['promote', 'web'],
  ['maintenance', 'web', 'on'],
  ['status'],
  ['status', 'web'],
  ['history', 'web'],
  ['reload'],
  ['prune', '--dry-run'],
  ['rollout', 'web', '--targets', '127.0.0.1:1'],
];

describe('an admin address where something else answers JSON', () => {
  it('every command exits 1 naming the field and asking about --admin', { timeout: 60_000 }, async () => {
    const wrong = JSON.stringify({ services: [{ name: 'web' }], weight: 'x', rollout: {}, rollouts: [{}] });
    const admin = await serve(json(wrong));
    const runs = await Promise.all(COMMANDS.map((args) => veer(args, admin)));
    runs.forEach((r, i) => {
      const args = (COMMANDS[i] as string[]).join(' ');
      expect(r.code, args).toBe(1);
      expect(r.stdout, args).toBe('');
      expect(r.stderr, args).toMatch(
        new RegExp(
          `^error: unexpected answer from ${admin}/v1/\\S+: .+ — is --admin pointing at veer's admin API\\?\\n$`,
        ),
      );
      expectClean(r);
    });
  });

  it('JSON null is an unexpected answer too, not a silent exit 1', { timeout: 60_000 }, async () => {
    const admin = await serve(json('null'));
    const runs = await Promise.all([veer(['status'], admin), veer(['shift', 'web', '10'], admin)]);
    for (const r of runs) {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(': expected a JSON object or list, got null — is --admin pointing at veer');
    }
  });

  it('status --watch stops at once when what answers is not veer', async () => {
    const admin = await serve(json('{"hello": 1}'));
    const r = await veer(['status', '--watch', '--timeout', '20s'], admin);
    expect(r.code).toBe(1);
    expect(r.ms).toBeLessThan(15_000);
    expect(r.stderr).toContain('unexpected answer from');
  });
});

describe("--admin naming veer's data plane", () => {
  it("says the proxy answered, not the admin API, with the admin API's default address", async () => {
    const v = await h.veer({ services: [service('web', ['127.0.0.1:1'], [], { match: { hosts: ['web.test'] } })] });
    for (const args of [['status'], ['shift', 'web', '10']]) {
      const r = await veer(args, v.url);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^error: .+ — veer's data plane \(the proxy\) answered at \S+, not its admin API: /);
      expect(r.stderr).toMatch(
        /point --admin or VEER_ADMIN_URL at admin\.listen \(default http:\/\/127\.0\.0\.1:9090\)\n$/,
      );
      expectClean(r);
    }
  });
});

describe('transport failures', () => {
  it('https:// to a plain-http port says TLS was not spoken, without OpenSSL internals', async () => {
    const admin = await serve(json('[]'));
    const r = await veer(['status'], admin.replace('http://', 'https://'));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `error: veer admin at ${admin.replace('http://', 'https://')} did not answer in TLS (is it plain http://?)\n`,
    );
    expect(r.stderr).not.toMatch(/ssl3|openssl|deps\//i);
  });

  it('http:// to a TLS port says HTTP was not spoken (is it https://?)', async () => {
    // What a TLS server answers a plain request with: a fatal alert record, which is no HTTP.
    const tls = createNetServer((c) => {
      c.on('error', () => undefined);
      c.once('data', () => c.end(Buffer.from([0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46])));
    });
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', r));
    try {
      const admin = `http://127.0.0.1:${(tls.address() as AddressInfo).port}`;
      const r = await veer(['status'], admin);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe(`error: veer admin at ${admin} did not answer in HTTP (is it https://?)\n`);
    } finally {
      await new Promise((r) => tls.close(r));
    }
  });

  it('status --watch --timeout exits 1 when it never got a status', async () => {
    const port = await deadPort();
    const r = await veer(['status', '--watch', '--timeout', '2s'], `http://127.0.0.1:${port}`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: no status within 2s (--timeout): cannot reach veer admin at http://127.0.0.1:${port}`,
    );
  });

  it('rollout --wait --timeout 1s against an admin that never answers ends within about a second', async () => {
    const admin = await serve(() => undefined);
    const r = await veer(['rollout', 'web', '--targets', '127.0.0.1:1', '--wait', '--timeout', '1s'], admin);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`veer admin at ${admin} did not answer within 1s`);
    // Without the bound the request waited the client's 10 s.
    expect(r.ms).toBeLessThan(6_000);
  });
});

type Phase = 'up' | 'down' | 'done';

/**
 * Answers as veer does for a rollout `r-1` of `web`: progressing while `up`, succeeded once `done`;
 * while `down` each status read has its connection dropped (a veer gone away), and is counted.
 */
function fakeVeer(state: { phase: Phase; reads: Record<Phase, number> }) {
  const rollout = (phase: string) => ({
    id: 'r-1',
    strategy: 'canary',
    phase,
    step: 0,
    weight: 5,
    reason: null,
    startedAt: '2024-01-01T00:00:00.000Z',
    steps: [5, 100],
    lastVerdict: null,
  });
  const metrics = { window: '60s', requests: 0, errors: 0, errorRate: 0, p99Ms: 0 };
  return (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method === 'POST') return json(JSON.stringify(rollout('progressing')), 201)(req, res);
    if (req.url?.startsWith('/v1/events'))
      return json('{"error": {"code": "not_found", "message": "no"}}', 404)(req, res);
    state.reads[state.phase] += 1;
    if (state.phase === 'down') return void req.socket.destroy();
    const service = {
      name: 'web',
      weight: 5,
      pools: { stable: { targets: [] }, canary: { targets: [] } },
      metrics: { stable: metrics, canary: metrics },
      rollout: rollout(state.phase === 'done' ? 'succeeded' : 'progressing'),
    };
    json(JSON.stringify(service))(req, res);
  };
}

describe('rollout --wait while the admin goes away', () => {
  it('says it is unreachable once, and once that it answers again', { timeout: 60_000 }, async () => {
    const state = { phase: 'up' as Phase, reads: { up: 0, down: 0, done: 0 } };
    const admin = await serve(fakeVeer(state));
    const run = veer(['rollout', 'web', '--targets', '127.0.0.1:1', '--wait', '--timeout', '40s'], admin, 50_000);
    await waitFor(() => state.reads.up >= 1, { what: 'the first status read', timeoutMs: 20_000 });
    state.phase = 'down';
    // Several polls fail in a row (the CLI polls every second without an event stream).
    await waitFor(() => state.reads.down >= 4, { what: 'four failed status reads', timeoutMs: 20_000 });
    state.phase = 'done';
    const r = await run;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('rollout r-1 succeeded');
    const unreachable = r.stderr.split('\n').filter((l) => l.includes('cannot reach veer admin'));
    expect(unreachable).toEqual([`error: cannot reach veer admin at ${admin} (is veer running?)`]);
    expect(r.stderr.split('\n').filter((l) => l === 'note: veer admin answers again')).toHaveLength(1);
  });
});
