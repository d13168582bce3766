// `veer rollout --wait` (and `veer shift` during a rollout) as CI runs it: the real CLI as a child process
// against a scripted admin API (a plain node:http server on a loopback port), so each answer — a removed
// service, a rotated token, a rollout replaced between two reads, a slow start — comes exactly when the test says.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { RolloutStatus, ServiceStatus } from '../../src/api/ports.js';
import { fakeRollout, fakeService } from '../unit/api/fake-directory.js';
import { spawnVeer } from '../helpers/cli.js';
import { killTracked, withTimeout } from '../helpers/process.js';

type Route = (req: IncomingMessage, res: ServerResponse) => void;

interface Fake {
  url: string;
  server: Server;
  /** GET /v1/services/web reads so far. */
  reads: number;
}

const servers: Server[] = [];

afterEach(async () => {
  await killTracked();
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});
afterAll(() => killTracked());

function json(res: ServerResponse, code: number, body: unknown): void {
  res.statusCode = code;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

const apiError = (code: string, message: string) => ({ error: { code, message } });

/** An event stream that wakes the CLI with an event of rollout r-1 every 100 ms (it reads the status then). */
function events(res: ServerResponse): void {
  res.setHeader('content-type', 'text/event-stream');
  res.write(': hi\n\n');
  const t = setInterval(() => res.write(`data: ${JSON.stringify({ rolloutId: 'r-1', kind: 'step' })}\n\n`), 100);
  res.on('close', () => clearInterval(t));
}

const web = (rollout: Partial<RolloutStatus> | null, over: Partial<ServiceStatus> = {}): ServiceStatus =>
  fakeService('web', { rollout: rollout === null ? null : fakeRollout(rollout), ...over });

/**
 * POST …/rollouts starts r-1; the event stream is live; GET /v1/services/web answers `status(read number)`
 * (a [code, body] pair); `extra` answers anything else first (return true when it did).
 */
async function fake(
  status: (n: number) => [number, unknown],
  extra?: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<Fake> {
  const state = { reads: 0 };
  const route: Route = (req, res) => {
    if (extra?.(req, res)) return;
    if (req.method === 'POST' && req.url === '/v1/services/web/rollouts') return json(res, 201, fakeRollout());
    if (req.url?.startsWith('/v1/events')) return events(res);
    if (req.url === '/v1/services/web') {
      state.reads += 1;
      const [code, body] = status(state.reads);
      return json(res, code, body);
    }
    json(res, 404, apiError('not_found', 'no route'));
  };
  const server = createServer(route);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.defineProperty({ url, server, reads: 0 }, 'reads', { get: () => state.reads });
}

const rolloutWait = (url: string, timeout = '20s') =>
  spawnVeer(['rollout', 'web', '--targets', '127.0.0.1:9101', '--wait', '--timeout', timeout], {
    env: { VEER_ADMIN_URL: url },
  });

describe('veer rollout --wait in a pipeline', () => {
  it("a reader that stops after the first line: no stack trace, the exit code is the rollout's", async () => {
    const api = await fake((n) => [200, web(n < 8 ? { step: 0, weight: n } : { phase: 'succeeded', weight: 100 })]);
    const cli = rolloutWait(api.url);
    const reader = cli.child.stdout;
    reader?.on('data', () => {
      if (cli.stdout().includes('\n')) reader.destroy();
    });
    const code = await withTimeout(cli.exit, 20_000, 'the CLI to exit');
    expect(cli.stderr()).not.toMatch(/EPIPE|Error|\n\s+at /);
    expect(cli.stderr()).toBe('');
    expect(code).toBe(0);
    expect(api.reads).toBeGreaterThanOrEqual(8);
  });
});

describe('veer rollout --wait when asking again cannot help', () => {
  it.each([
    [404, apiError('not_found', 'unknown service "web"'), /^error: unknown service "web"$/m],
    [401, apiError('unauthorized', 'missing or invalid token'), /^error: missing or invalid token \(set --token/m],
  ])('a %d ends the wait at once with exit 1, not at --timeout', async (code, body, message) => {
    const api = await fake((n) => (n < 3 ? [200, web({ weight: n })] : [code, body]));
    const cli = rolloutWait(api.url, '60s');
    const exit = await withTimeout(cli.exit, 20_000, 'the CLI to exit');
    expect(exit).toBe(1);
    expect(cli.stderr()).toMatch(message);
    expect(cli.stderr()).not.toContain('did not finish');
    expect(api.reads).toBe(3);
  });
});

/** A history entry as GET /v1/services/web/rollouts lists it. */
const entry = (id: string, phase: RolloutStatus['phase'], reason: string | null = null) => ({
  id,
  strategy: 'canary',
  phase,
  reason,
  startedAt: '2024-01-01T00:00:00.000Z',
  endedAt: null,
  canary: { targets: ['127.0.0.1:9101'] },
  origin: null,
});

describe('veer rollout --wait when the next rollout started before its last read', () => {
  // Read 1 sees r-1 running; by read 2, r-1 has ended and the next pipeline's r-2 runs.
  const replaced = async (history: unknown[]) => {
    const asked: string[] = [];
    const api = await fake(
      (n) => [200, web(n < 2 ? { id: 'r-1' } : { id: 'r-2' })],
      (req, res) => {
        if (!req.url?.startsWith('/v1/services/web/rollouts?')) return false;
        asked.push(req.url);
        json(res, 200, { rollouts: history });
        return true;
      },
    );
    const cli = rolloutWait(api.url);
    const code = await withTimeout(cli.exit, 20_000, 'the CLI to exit');
    return { code, stdout: cli.stdout(), stderr: cli.stderr(), asked };
  };

  it('reports its real outcome from the history: succeeded is exit 0', async () => {
    const r = await replaced([entry('r-2', 'progressing'), entry('r-1', 'succeeded')]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('rollout r-1 succeeded');
    expect(r.asked).toEqual(['/v1/services/web/rollouts?limit=20']);
  });

  it('a rolled-back one is exit 1 with its reason', async () => {
    const r = await replaced([entry('r-2', 'progressing'), entry('r-1', 'rolled-back', 'canary error rate 5%')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe('rollout r-1 rolled-back: canary error rate 5%');
  });

  it('one the history does not list is a failure, as before', async () => {
    const r = await replaced([entry('r-2', 'progressing')]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("error: rollout r-1 is no longer web's current rollout (now r-2, progressing)");
  });
});

describe('veer rollout --wait --timeout bounds the whole wait', () => {
  it('a slow start and an event stream that never opens: exit 1 near --timeout, no 1 ms read', async () => {
    // POST answers after 3 s; the stream never sends its head; the status says "running".
    const api = await fake(
      () => [200, web({ id: 'r-1' })],
      (req, res) => {
        if (req.url?.startsWith('/v1/events')) return true;
        if (req.method !== 'POST') return false;
        setTimeout(() => json(res, 201, fakeRollout()), 3_000);
        return true;
      },
    );
    const cli = rolloutWait(api.url, '4s');
    const started = Date.now();
    const code = await withTimeout(cli.exit, 20_000, 'the CLI to exit');
    const took = Date.now() - started;
    expect(code).toBe(1);
    expect(cli.stderr()).toContain('error: rollout r-1 of web did not finish within 4s (--timeout); it keeps running');
    expect(cli.stderr()).not.toMatch(/within 0\.0/);
    // Loose on purpose (a loaded machine is slow to start node); before, it took twice --timeout.
    expect(took).toBeLessThan(4_000 + 3_000);
  });
});

describe('veer rollout --wait on a paused rollout', () => {
  it('says once, on stderr, that it is paused and what continues it', async () => {
    const api = await fake((n) => {
      if (n < 2) return [200, web({})];
      if (n < 7) return [200, web({ phase: 'paused', reason: 'manual shift to 30%' })];
      return [200, web({ phase: 'succeeded', weight: 100 })];
    });
    const cli = rolloutWait(api.url);
    expect(await withTimeout(cli.exit, 20_000, 'the CLI to exit')).toBe(0);
    expect(cli.stderr().split('\n')).toEqual([
      'rollout r-1 paused: manual shift to 30%; veer resume|promote web continues it, ' +
        '--wait keeps waiting until --timeout',
      '',
    ]);
  });
});

describe('veer shift during a rollout', () => {
  it('says that the shift paused the rollout, and what continues it', async () => {
    const paused = web({ phase: 'paused', weight: 30, reason: 'manual shift to 30%' }, { weight: 30 });
    const api = await fake(
      () => [200, paused],
      (req, res) => {
        if (req.method !== 'POST' || req.url !== '/v1/services/web/shift') return false;
        json(res, 200, paused);
        return true;
      },
    );
    const cli = spawnVeer(['shift', 'web', '30'], { env: { VEER_ADMIN_URL: api.url } });
    expect(await withTimeout(cli.exit, 20_000, 'the CLI to exit')).toBe(0);
    expect(cli.stderr()).toBe('');
    expect(cli.stdout()).toBe(
      'web: canary weight 30%\nrollout r-1 paused: manual shift to 30% (veer resume web continues it)\n',
    );
  });
});
