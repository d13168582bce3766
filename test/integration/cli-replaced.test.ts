// `veer rollout --wait` against a real veer when the rollout it follows succeeds and the next pipeline's
// rollout starts before the CLI reads the status again. The CLI is held with SIGSTOP across both, which
// makes the late read certain (in CI it is a matter of timing).
import { describe, expect, it } from 'vitest';
import type { RolloutStatus, ServiceStatus } from '../../src/api/ports.js';
import { spawnVeer } from '../helpers/cli.js';
import { killTracked, withTimeout } from '../helpers/process.js';
import { admin, service, useHarness, waitFor, type TestVeer } from '../helpers/veer.js';

const h = useHarness();
// A step that never ends by itself: only the operator's promotion ends rollout A.
const POLICY = { steps: [50, 100], stepInterval: '1h', analysisInterval: '250ms', drainTimeout: '1s' };

const current = async (v: TestVeer): Promise<RolloutStatus | null> =>
  (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json.rollout;

describe('veer rollout --wait, replaced before its last read', () => {
  it('exits 0 for a rollout that succeeded, found in the history', { timeout: 60_000 }, async () => {
    h.defer(() => killTracked());
    const stable = await h.upstream('stable');
    const a = await h.upstream('a');
    const b = await h.upstream('b');
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: POLICY })] });
    const cli = spawnVeer(['rollout', 'web', '--targets', a.address, '--wait', '--timeout', '50s'], {
      env: { VEER_ADMIN_URL: v.adminUrl },
    });
    // Following: the start line and a first progress line.
    await waitFor(() => cli.stdout().split('\n').length > 2, { timeoutMs: 20_000, what: 'the first progress line' });
    const id = (await current(v))?.id;
    cli.child.kill('SIGSTOP');
    try {
      expect((await admin(v, 'POST', '/v1/services/web/rollout/promote', { full: true })).status).toBe(200);
      await waitFor(async () => (await current(v))?.phase === 'succeeded', { timeoutMs: 15_000, what: 'A to end' });
      const next = await admin(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [b.address] } });
      expect(next.status).toBe(201);
    } finally {
      cli.child.kill('SIGCONT');
    }
    const code = await withTimeout(cli.exit, 20_000, 'the CLI to exit');
    expect(cli.stderr()).toBe('');
    expect(code).toBe(0);
    expect(cli.stdout().trimEnd().split('\n').at(-1)).toBe(`rollout ${id} succeeded`);
  });
});
