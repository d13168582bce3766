// Webhook notifications of a real rollout, delivered to real HTTP servers on 127.0.0.1:0: the
// milestones arrive as JSON posts, in order; and an endpoint that never answers costs the rollout
// nothing (delivery is queued off the controller's path).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import type { ServiceStatus } from '../../../src/api/ports.js';
import { parseConfigObject } from '../../../src/config/load.js';
import { silentLogger } from '../../../src/domain/log.js';
import { isTerminal } from '../../../src/domain/rollout.js';
import { startVeer } from '../../../src/main.js';
import type { WebhookPayload } from '../../../src/rollout/webhooks.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { admin, service, useHarness, type RawServer, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

// maxLatencyRatio 5: ~1 ms loopback latencies make the 1.5× p99 ratio a test of CPU noise (see canary.test.ts).
const POLICY = {
  steps: [10, 50, 100],
  stepInterval: '1s',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '2s',
  maxLatencyRatio: 5,
};

interface Hook {
  server: RawServer;
  url: string;
  // Chat formats post their own shapes (read through `chat` below).
  posts: Array<{ contentType: string | undefined; body: WebhookPayload }>;
}

/** What a chat endpoint got: each post's body as the format's JSON. */
const chat = (h: Hook): Array<Record<string, any>> => h.posts.map((p) => p.body as unknown as Record<string, any>);

/** A webhook endpoint that records every JSON post; `hang` never answers. */
async function hook(mode: 'ok' | 'hang'): Promise<Hook> {
  const posts: Hook['posts'] = [];
  const server = await h.server((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      posts.push({ contentType: req.headers['content-type'], body: JSON.parse(body) as WebhookPayload });
      if (mode === 'ok') res.writeHead(204).end();
    });
  });
  return { server, url: `http://127.0.0.1:${server.port}/hook`, posts };
}

/** The harness has no notifications section, so veer is started here with the same loopback setup. */
async function veerWithHooks(stable: string, hooks: Array<Record<string, unknown>>): Promise<TestVeer> {
  const parsed = parseConfigObject(
    {
      listen: '127.0.0.1:0',
      admin: { listen: '127.0.0.1:0' },
      state: { store: 'memory' },
      notifications: { webhooks: hooks },
      services: [service('web', [stable], [], { rollout: POLICY })],
    },
    {},
  );
  if (!parsed.ok) throw parsed.error;
  const running = await startVeer(parsed.value, { log: silentLogger });
  let closing: Promise<void> | null = null;
  const v: TestVeer = {
    running,
    plane: running.plane,
    config: parsed.value,
    port: running.data.port,
    url: `http://127.0.0.1:${running.data.port}`,
    adminUrl: `http://127.0.0.1:${running.admin.port}`,
    close: () => (closing ??= running.close()),
  };
  h.defer(() => v.close());
  return v;
}

const terminal = async (v: TestVeer): Promise<boolean> => {
  const r = (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json.rollout;
  return r !== null && isTerminal(r.phase);
};

async function rollOut(v: TestVeer, canary: string): Promise<{ id: string; ms: number }> {
  const t = startTraffic({ url: v.url, rps: 200, maxMs: 15_000, until: () => terminal(v) });
  h.defer(() => t.stop().catch(() => undefined));
  const started = Date.now();
  const r = await admin<{ id: string }>(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary] } });
  expect(r.status).toBe(201);
  const why = async (): Promise<string> =>
    (
      await admin<{ events: Array<{ at: string; kind: string; message: string }> }>(
        v,
        'GET',
        '/v1/services/web/events?limit=50',
      )
    ).json.events
      .map((e) => `${e.at} ${e.kind} ${e.message}`)
      .join('\n');
  const report = await t.done;
  expect(report.stoppedBy, report.stoppedBy === 'predicate' ? '' : await why()).toBe('predicate');
  return { id: r.json.id, ms: Date.now() - started };
}

describe('webhook notifications', () => {
  it('a canary that breaks after its first step: started, step, rolling-back, rolled-back as JSON posts', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const receiver = await hook('ok');
    const v = await veerWithHooks(stable.address, [{ url: receiver.url }]);
    // Healthy until it reaches 50%, then every 5th request fails.
    const broken = waitFor(() => receiver.posts.some((p) => p.body.event === 'step'), {
      timeoutMs: 10_000,
      intervalMs: 10,
      what: 'the first step webhook',
    }).then(() => canary.behave({ status: (n) => (n % 5 === 0 ? 503 : 200) }));
    const { id } = await rollOut(v, canary.address);
    await broken;
    await waitFor(() => receiver.posts.some((p) => p.body.event === 'rolled-back'), {
      timeoutMs: 5_000,
      intervalMs: 10,
      what: 'the rolled-back webhook',
    });

    const bodies = receiver.posts.map((p) => p.body);
    // canary-ready and analysis are not among the default milestones.
    expect(bodies.map((b) => b.event)).toEqual(['started', 'step', 'rolling-back', 'rolled-back']);
    for (const p of receiver.posts) expect(p.contentType).toMatch(/^application\/json/);
    for (const b of bodies) expect(b).toMatchObject({ service: 'web', rolloutId: id });
    expect(bodies[1]?.weight).toBe(50);
    expect(bodies[2]?.message).toMatch(/error rate/);
    expect(bodies[3]?.phase).toBe('rolled-back');
    const seqs = bodies.map((b) => b.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
  });

  it('slack, teams and discord endpoints each get their format, the rollback with its evidence', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary', { status: (n) => (n % 4 === 0 ? 503 : 200) });
    const [slack, teams, discord] = [await hook('ok'), await hook('ok'), await hook('ok')] as const;
    const v = await veerWithHooks(stable.address, [
      { url: slack.url, format: 'slack' },
      { url: teams.url, format: 'teams' },
      { url: discord.url, format: 'discord' },
    ]);
    await rollOut(v, canary.address);
    const lastOf = (x: Hook) => JSON.stringify(chat(x).at(-1) ?? {});
    await waitFor(() => [slack, teams, discord].every((x) => lastOf(x).includes('web: rolled back')), {
      timeoutMs: 5_000,
      intervalMs: 10,
      what: 'the rolled-back message on every endpoint',
    });
    // The evidence: the failed check, its figures and p-value, canary against stable.
    const evidence = [/failed check error-rate/, /p=/, /canary: \d+ requests, \d+ errors/, /stable: \d+ requests/];

    const s = chat(slack).at(-1) ?? {};
    expect(s.text).toMatch(/^web: rolled back/);
    expect(s.blocks.map((b: { type: string }) => b.type)).toEqual(['header', 'section', 'context']);
    for (const re of evidence) expect(s.blocks[1].text.text).toMatch(re);
    expect(chat(slack)[0]?.text).toMatch(/^web: rollout started/);

    const t = chat(teams).at(-1) ?? {};
    expect(t.type).toBe('message');
    expect(t.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(t.attachments[0].content.type).toBe('AdaptiveCard');
    for (const re of evidence) expect(t.attachments[0].content.body[1].text).toMatch(re);

    const d = chat(discord).at(-1) ?? {};
    expect(d.content).toContain('web: rolled back');
    expect(d.embeds[0].title).toBe('web: rolled back');
    for (const re of evidence) expect(d.embeds[0].description).toMatch(re);
    for (const x of [slack, teams, discord]) {
      for (const p of x.posts) expect(p.contentType).toMatch(/^application\/json/);
    }
  });

  it('an endpoint that never answers does not slow the rollout, nor the other hooks', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    const hung = await hook('hang');
    const receiver = await hook('ok');
    const v = await veerWithHooks(stable.address, [
      { url: hung.url, timeout: '60s', retries: 0 },
      { url: receiver.url },
    ]);
    // Cleanups run in reverse: the hung endpoint's sockets are cut before veer closes, so veer's
    // shutdown does not sit out the 60 s delivery timeout.
    h.defer(() => hung.server.close());

    const { ms } = await rollOut(v, canary.address);
    // Two judged steps of ~4 s (the least a verdict needs); a controller waiting on the hung hook would
    // take ≥ 60 s per event. The bound is loose: a loaded CI machine once stretched steps to 10 s.
    expect(ms).toBeLessThan(30_000);
    expect((await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json.rollout?.phase).toBe('succeeded');
    await waitFor(() => receiver.posts.some((p) => p.body.event === 'succeeded'), {
      timeoutMs: 3_000,
      intervalMs: 10,
      what: 'the succeeded webhook',
    });
    expect(receiver.posts.map((p) => p.body.event)).toEqual(['started', 'step', 'promoting', 'succeeded']);
    // The hung endpoint really was hanging: it got the first post and, its lane blocked, nothing else.
    expect(hung.posts.map((p) => p.body.event)).toEqual(['started']);
  });
});
