// beforeTraffic gates end to end: a real veer, real upstreams and a real gate server whose answers
// the test controls. The common case - a smoke test of the canary before any client reaches it -
// through veer's override header, the gate's request body, `veer rollout --wait` showing the hold
// and the pass, and the API refusing a bad gate override with the field named.
import { describe, expect, it } from 'vitest';
import { runCli } from '../../../src/cli/main.js';
import { startGate, type TestGate } from '../../helpers/gate-server.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { admin, http, service, useHarness, type TestVeer } from '../../helpers/veer.js';
import { POLICY, events, gateEvents, status, terminal } from './probes.js';

const h = useHarness();

async function gate(): Promise<TestGate> {
  const g = await startGate({ status: 503, body: 'not ready' });
  h.defer(() => g.close());
  return g;
}

function traffic(v: TestVeer) {
  const t = startTraffic({ url: v.url, rps: 150, maxMs: 30_000, until: () => terminal(v) });
  h.defer(() => t.stop().catch(() => undefined));
  return t;
}

describe('beforeTraffic', () => {
  it('a smoke test through the override header holds the canary at 0% until it passes', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const g = await gate();
    const v = await h.veer({
      services: [service('web', [stable.address], [], { rollout: POLICY })],
      proxy: { overrideHeader: 'x-veer-pool' },
    });
    // The smoke test reaches the canary through veer; it passes once the test says the canary is fine.
    let healthy = false;
    const smokes: string[] = [];
    g.reply(async () => {
      const r = await http(`${v.url}/smoke`, { headers: { 'x-veer-pool': 'canary' } });
      smokes.push(String(r.headers['x-upstream']));
      return healthy ? { status: 200, body: 'smoke ok' } : { status: 503, body: 'smoke failed: v2 not warm\nat …' };
    });
    const t = traffic(v);
    await waitFor(() => t.snapshot().completed >= 100, { timeoutMs: 5_000, intervalMs: 10, what: 'warm-up traffic' });

    const r = await admin<{ phase: string; weight: number }>(v, 'POST', '/v1/services/web/rollouts', {
      canary: { targets: [canary.address] },
      rollout: { gates: { beforeTraffic: { url: g.url, timeout: '2s', retries: 0 } } },
    });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    expect(r.json).toMatchObject({ phase: 'progressing', weight: 0 });
    await waitFor(async () => (await gateEvents(v, /refused/)).length >= 3, { timeoutMs: 10_000, what: 'refusals' });

    const held = await status(v);
    expect(held.weight).toBe(0);
    expect(held.rollout?.gate).toMatchObject({
      name: 'beforeTraffic',
      lastRefusal: 'HTTP 503: smoke failed: v2 not warm',
    });
    expect(held.rollout?.gate?.refusals).toBeGreaterThanOrEqual(3);
    // Only the smoke tests reached the canary, never a client.
    expect(canary.requests.filter((q) => q.url !== '/smoke')).toEqual([]);
    expect(smokes.length).toBeGreaterThanOrEqual(3);
    expect(new Set(smokes)).toEqual(new Set(['canary']));
    const [first] = g.calls;
    expect(first?.body).toMatchObject({
      service: 'web',
      gate: 'beforeTraffic',
      phase: 'progressing',
      step: 0,
      weight: 0,
      nextWeight: 10,
      canary: { targets: [canary.address] },
      stable: { targets: [stable.address] },
    });
    const refused = await gateEvents(v, /refused/);
    expect(refused[0]?.message).toBe(
      'gate beforeTraffic refused (HTTP 503: smoke failed: v2 not warm); holding at 0%, asked again every 0.25s',
    );
    expect(refused[0]?.data).toMatchObject({ gate: 'beforeTraffic', status: 503, body: 'smoke failed: v2 not warm' });

    healthy = true;
    const report = await t.done;
    expect(report.stoppedBy).toBe('predicate');
    expect(report.failures).toBe(0);
    expect((await status(v)).rollout?.phase).toBe('succeeded');
    expect(report.byUpstream.canary ?? 0).toBeGreaterThan(0);
    const es = await events(v);
    const passed = es.findIndex(
      (e) => e.kind === 'gate' && e.message === 'gate beforeTraffic passed (HTTP 200: smoke ok)',
    );
    expect(passed).toBeGreaterThan(0);
    expect(es[passed + 1]?.message).toBe('step 1/3: canary weight 10% (gate beforeTraffic passed)');
    // Asked once per refusal and once for the pass: no ask after it passed.
    expect(g.calls).toHaveLength(refused.length + 1);
  });

  it('veer rollout --wait shows the hold once and the pass, then exits 0', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const g = await gate();
    g.reply((c) =>
      g.calls.indexOf(c) < 6 ? { status: 409, body: 'migrations running' } : { status: 200, body: 'ok' },
    );
    const gates = { beforeTraffic: { url: g.url, retries: 0 } };
    const v = await h.veer({ services: [service('web', [stable.address], [], { rollout: { ...POLICY, gates } })] });
    const t = traffic(v);
    await waitFor(() => t.snapshot().completed >= 100, { timeoutMs: 5_000, intervalMs: 10, what: 'warm-up traffic' });

    const out: string[] = [];
    const err: string[] = [];
    const io = {
      out: (l: string) => out.push(l),
      err: (l: string) => err.push(l),
      env: { VEER_ADMIN_URL: v.adminUrl },
    };
    const code = await runCli(['rollout', 'web', '--targets', canary.address, '--wait', '--timeout', '30s'], io);
    expect(code, [...out, ...err].join('\n')).toBe(0);
    const refusals = out.filter((l) => l.startsWith('gate beforeTraffic refused (HTTP 409: migrations running)'));
    expect(refusals).toHaveLength(1);
    expect(out).toContain('gate beforeTraffic passed (HTTP 200: ok)');
    expect(out.indexOf(refusals[0] as string)).toBeLessThan(out.indexOf('gate beforeTraffic passed (HTTP 200: ok)'));
    expect(out.at(-1)).toMatch(/succeeded/);
    expect(g.calls).toHaveLength(7);
  });
});

describe('a bad gate in a rollout request', () => {
  it('is refused 400 with the field named, and nothing starts', async () => {
    const stable = await h.upstream('stable');
    const v = await h.veer({ services: [service('web', [stable.address])] });
    const r = await admin<{ error: { code: string; problems: Array<{ path: string; message: string }> } }>(
      v,
      'POST',
      '/v1/services/web/rollouts',
      {
        canary: { targets: ['127.0.0.1:9'] },
        rollout: { gates: { beforeTraffic: 'ftp://smoke', afterwards: 'http://x/' }, onGateFailure: 'explode' },
      },
    );
    expect(r.status).toBe(400);
    expect(r.json.error.problems).toEqual([
      {
        path: 'rollout.gates.beforeTraffic.url',
        message: 'expected an absolute http(s) URL such as "http://127.0.0.1:7000/smoke", got "ftp://smoke"',
      },
      {
        path: 'rollout.gates.afterwards',
        message: 'unknown key (expected one of: beforeTraffic, beforeEachStep, beforePromotion)',
      },
      { path: 'rollout.onGateFailure', message: 'expected "hold" or "rollback", got "explode"' },
    ]);
    expect((await status(v)).rollout).toBeNull();
  });
});
