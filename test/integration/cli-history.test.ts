// `veer history`, `veer undo` and `veer retry` as child processes against a real veer (in-process,
// real upstreams on 127.0.0.1:0, real traffic): their output and exit codes.
import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { RolloutHistoryEntry, RolloutStatus, ServiceStatus } from '../../src/api/ports.js';
import { isTerminal } from '../../src/domain/rollout.js';
import { startTraffic } from '../helpers/traffic.js';
import { admin, service, useHarness, waitFor, type TestVeer } from '../helpers/veer.js';
import { CLI_ENTRY } from '../helpers/cli-entry.js';

const h = useHarness();
const ROOT = new URL('../../', import.meta.url).pathname;
const POLICY = {
  steps: [50, 100],
  stepInterval: '1s',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '1s',
  maxLatencyRatio: 5,
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Async on purpose: veer answers from this very process while the child runs. */
function cli(v: TestVeer, args: string[]): Promise<Run> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI_ENTRY, ...args],
      { cwd: ROOT, env: { ...env, VEER_ADMIN_URL: v.adminUrl }, timeout: 40_000, killSignal: 'SIGKILL' },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function promoted(v: TestVeer, target: string): Promise<RolloutStatus> {
  const r = await admin<RolloutStatus>(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [target] } });
  expect(r.status).toBe(201);
  expect((await admin(v, 'POST', '/v1/services/web/rollout/promote', { full: true })).status).toBe(200);
  return waitFor(
    async () => {
      const s = (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json.rollout;
      return s !== null && s.id === r.json.id && isTerminal(s.phase) ? s : null;
    },
    { timeoutMs: 15_000, intervalMs: 50, what: 'the promotion to end' },
  );
}

describe('veer history, undo and retry', () => {
  it(
    'print the history, refuse with exit 1, and undo --wait exits 0 once the old targets are back',
    { timeout: 120_000 },
    async () => {
      const stable = await h.upstream('old');
      const canary = await h.upstream('new');
      const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });

      expect(await cli(v, ['history', 'web'])).toEqual({ code: 0, stdout: 'web: no rollouts yet\n', stderr: '' });
      const noUndo = await cli(v, ['undo', 'web']);
      expect(noUndo.code).toBe(1);
      expect(noUndo.stderr).toBe('error: service web has no promoted rollout to undo\n');
      const noRetry = await cli(v, ['retry', 'web']);
      expect([noRetry.code, noRetry.stderr]).toEqual([1, 'error: service web has no rollout to retry\n']);
      expect((await cli(v, ['history'])).code).toBe(64);
      const unknown = await cli(v, ['history', 'nope']);
      expect([unknown.code, unknown.stderr]).toEqual([1, "error: service 'nope' not found\n"]);

      const first = await promoted(v, canary.address);
      const table = await cli(v, ['history', 'web']);
      expect(table.code).toBe(0);
      const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
      expect(header?.split(/\s{2,}/)).toEqual(['ID', 'STRATEGY', 'OUTCOME', 'STARTED', 'DURATION', 'CANARY', 'REASON']);
      expect(row?.split(/\s{2,}/)).toEqual([
        first.id.slice(0, 8),
        'canary',
        'succeeded',
        expect.stringMatching(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
        expect.stringMatching(/^\d+s$/),
        canary.address,
        'promoted by operator (full)',
      ]);
      expect(rest).toEqual([]);
      const json = await cli(v, ['history', 'web', '--json']);
      const api = (await admin<{ rollouts: RolloutHistoryEntry[] }>(v, 'GET', '/v1/services/web/rollouts')).json;
      expect(JSON.parse(json.stdout)).toEqual(api);
      const retrySucceeded = await cli(v, ['retry', 'web']);
      expect(retrySucceeded.code).toBe(1);
      expect(retrySucceeded.stderr).toContain(`the latest rollout of web (${first.id}) succeeded`);

      // The undo is judged on traffic (steps [100]): it needs some to be promoted.
      const t = startTraffic({ url: v.url, rps: 100, maxMs: 40_000 });
      h.defer(() => t.stop().catch(() => undefined));
      const undo = await cli(v, ['undo', 'web', '--wait', '--timeout', '30s']);
      expect(undo.code, undo.stderr).toBe(0);
      expect(undo.stdout).toMatch(/^web: undo started rollout \S+ (starting|progressing) \(weight (0|100)%\)\n/);
      expect(undo.stdout).toMatch(/rollout \S+ succeeded\n$/);
      const after = await cli(v, ['history', 'web']);
      expect(after.stdout.split('\n')[1]).toContain(`succeeded (undo of ${first.id.slice(0, 8)})`);
      expect(after.stdout.split('\n')[1]).toContain(stable.address);
      expect((await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json.pools.stable.targets).toMatchObject([
        { id: stable.address },
      ]);
    },
  );
});
