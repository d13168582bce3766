// Gates that hold a rollout: beforeEachStep keeping a passed step at its weight, beforePromotion
// refusing until progressDeadline (then rollback or pause, as onGateFailure says), and a gate that
// never answers (each ask bounded by its timeout; an operator's abort never waits for it).
import { describe, expect, it } from 'vitest';
import type { RolloutEvent } from '../../../src/domain/rollout.js';
import { startGate, type GateReply, type TestGate } from '../../helpers/gate-server.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { admin, service, useHarness, type TestVeer } from '../../helpers/veer.js';
import { POLICY, events, gateEvents, status, terminal } from './probes.js';

const h = useHarness();

const phaseIs =
  (v: TestVeer, ...phases: string[]) =>
  async () =>
    phases.includes((await status(v)).rollout?.phase ?? '');
const refusals = (v: TestVeer): Promise<RolloutEvent[]> => gateEvents(v, / refused /);

async function gated(policy: Record<string, unknown>, reply: GateReply) {
  const g: TestGate = await startGate(reply);
  h.defer(() => g.close());
  const stable = await h.upstream('stable');
  const canary = await h.upstream('canary');
  const gates = Object.fromEntries(
    Object.entries(policy.gates as Record<string, object>).map(([k, o]) => [k, { url: g.url, ...o }]),
  );
  const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: { ...policy, gates } })] });
  const t = startTraffic({
    url: v.url,
    rps: 150,
    maxMs: 40_000,
    until: () => terminal(v),
  });
  h.defer(() => t.stop().catch(() => undefined));
  await waitFor(() => t.snapshot().completed >= 100, { timeoutMs: 5_000, intervalMs: 10, what: 'warm-up traffic' });
  const r = await admin(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary.address] } });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  return { g, v, t, canary };
}

describe('beforeEachStep', () => {
  // 11 s alone. Its waits are bounded at 15 + 10 + 10 s, its traffic at 40 s: the test's bound is above those, not
  // vitest's 30 s default (which a loaded host reached before the rollout ended).
  it(
    'holds a passed step at its weight while analyses go on; a pass moves on at once',
    { timeout: 75_000 },
    async () => {
      const policy = { ...POLICY, gates: { beforeEachStep: { retries: 0 } } };
      const { g, v, t } = await gated(policy, { status: 423, body: 'change freeze' });
      await waitFor(async () => (await refusals(v)).length >= 4, { timeoutMs: 15_000, what: 'four refusals' });
      const held = await status(v);
      expect(held.rollout).toMatchObject({ step: 0, weight: 10, phase: 'progressing' });
      expect(held.rollout?.gate).toMatchObject({ name: 'beforeEachStep', lastRefusal: 'HTTP 423: change freeze' });
      expect(Date.now() - Date.parse(held.rollout?.stepStartedAt ?? '')).toBeGreaterThan(1_000);
      // The canary keeps its 10% and keeps being judged while the gate holds it.
      // (Refusals come every analysisInterval; an analysis needs a whole new second: wait for one.)
      const analysedWhileHeld = async (): Promise<boolean> => {
        const es = await events(v);
        const asked = es.findIndex((e) => e.message.startsWith('asking gate beforeEachStep'));
        return asked >= 0 && es.slice(asked).some((e) => e.kind === 'analysis');
      };
      await waitFor(analysedWhileHeld, { timeoutMs: 10_000, what: 'an analysis while the gate holds' });
      expect((await status(v)).rollout).toMatchObject({ step: 0, weight: 10, phase: 'progressing' });
      const canaryBefore = t.snapshot().byUpstream.canary ?? 0;
      await waitFor(() => (t.snapshot().byUpstream.canary ?? 0) > canaryBefore + 10, 'canary traffic while held');

      g.reply({ status: 200, body: 'go' });
      const report = await t.done;
      expect(report.failures).toBe(0);
      expect((await status(v)).rollout?.phase).toBe('succeeded');
      const es = await events(v);
      const step2 = es.find((e) => e.kind === 'step');
      expect(step2?.message).toBe('step 2/3: canary weight 50% (analysis and gate beforeEachStep passed)');
      // Asked for the 10% → 50% move only (the 50% step is the last judged: promotion has no gate here).
      expect(g.calls.length).toBe((await refusals(v)).length + 1);
      for (const c of g.calls)
        expect(c.body).toMatchObject({ gate: 'beforeEachStep', step: 0, weight: 10, nextWeight: 50 });
    },
  );
});

describe('beforePromotion refusing persistently', () => {
  // One judged step (50%), then promotion: the deadline must leave that step the time to pass first. A verdict
  // needs ~4 s of traffic; with six test files at once on 2 cores the step took longer than 8 s and the rollout
  // paused on the deadline before the gate was ever asked: 12 s leaves three times the verdict's time.
  const policy = (onGateFailure: string) => ({
    ...POLICY,
    steps: [50, 100],
    progressDeadline: '12s',
    onGateFailure,
    gates: { beforePromotion: { retries: 1 } },
  });

  it(
    'with onGateFailure rollback: rolled back, the reason naming the gate and its answer',
    { timeout: 45_000 },
    async () => {
      const { g, v, t } = await gated(policy('rollback'), { status: 403, body: 'not approved by release manager' });
      const report = await t.done;
      expect(report.failures).toBe(0);
      const s = await status(v);
      expect(s.rollout?.phase).toBe('rolled-back');
      expect(s.rollout?.reason).toBe(
        'rolled back: gate beforePromotion still refused after 12s (progressDeadline): ' +
          'HTTP 403: not approved by release manager',
      );
      expect(s.weight).toBe(0);
      expect(s.pools.canary.targets).toEqual([]);
      // Each ask is two attempts (retries: 1), all at the last judged step (50%).
      expect(g.calls.length).toBe(2 * (await refusals(v)).length);
      for (const c of g.calls) expect(c.body).toMatchObject({ gate: 'beforePromotion', step: 0, weight: 50 });
    },
  );

  it(
    'with onGateFailure hold: paused at its weight; approved and resumed, it is promoted',
    { timeout: 45_000 },
    async () => {
      const { g, v, t } = await gated(policy('hold'), { status: 403, body: 'awaiting approval' });
      await waitFor(phaseIs(v, 'paused'), { timeoutMs: 30_000, what: 'the rollout to pause' });
      const s = await status(v);
      expect(s.weight).toBe(50);
      expect(s.rollout?.reason).toBe(
        'paused: gate beforePromotion still refused after 12s (progressDeadline): HTTP 403: awaiting approval',
      );
      const calls = g.calls.length;
      g.reply({ status: 200, body: 'approved' });
      // Paused means nobody asks, for as long as 100 requests take (several analysis intervals at 150 req/s).
      const served = t.snapshot().completed;
      await waitFor(() => t.snapshot().completed >= served + 100, 'traffic while paused', 5_000);
      expect(g.calls.length).toBe(calls);
      expect((await admin(v, 'POST', '/v1/services/web/rollout/resume')).status).toBe(200);
      await t.done;
      expect((await status(v)).rollout?.phase).toBe('succeeded');
      expect(g.calls.length).toBe(calls + 1);
      expect((await events(v)).map((e) => e.kind)).toContain('resumed');
    },
  );
});

describe('a gate that never answers', () => {
  it('is a refusal after its timeout; persistent, it rolls back within its bounds', async () => {
    const policy = {
      ...POLICY,
      progressDeadline: '1s',
      onGateFailure: 'rollback',
      gates: { beforeTraffic: { timeout: '300ms', retries: 1 } },
    };
    const { g, v, canary } = await gated(policy, 'hang');
    await waitFor(phaseIs(v, 'rolled-back'), { timeoutMs: 10_000, what: 'the rollback' });
    const es = await events(v);
    const asked = es.find((e) => e.message.startsWith('asking gate beforeTraffic'));
    const [first] = await refusals(v);
    expect(first?.message).toBe(
      'gate beforeTraffic refused (no answer within 300ms (timeout)); holding at 0%, asked again every 0.25s',
    );
    // One ask: two attempts of 300 ms and a 500 ms backoff between them; bounded, not hanging.
    const took = Date.parse(first?.at ?? '') - Date.parse(asked?.at ?? '');
    expect(took).toBeGreaterThanOrEqual(1_000);
    expect(took).toBeLessThan(3_000);
    // Already past the 1 s deadline at that first refusal: rolled back on it.
    expect((await status(v)).rollout?.reason).toBe(
      'rolled back: gate beforeTraffic still refused after 1s (progressDeadline): no answer within 300ms (timeout)',
    );
    expect(g.calls).toHaveLength(2);
    expect(canary.hits).toBe(0);
  });

  it('an operator abort answers at once while the gate hangs', async () => {
    const policy = { ...POLICY, gates: { beforeTraffic: { timeout: '20s', retries: 0 } } };
    const { g, v } = await gated(policy, 'hang');
    await waitFor(() => g.calls.length >= 1, 'the gate to be asked');
    const t0 = Date.now();
    const r = await admin<{ phase: string }>(v, 'POST', '/v1/services/web/rollout/abort', { reason: 'no smoke' });
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await waitFor(phaseIs(v, 'aborted'), { timeoutMs: 10_000, what: 'the abort to finish' });
    expect(g.calls).toHaveLength(1);
  });
});
