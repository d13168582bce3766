// Targeting rules through real rollouts: real upstreams, veer in-process, the rules coming from the
// config or from the rollout request, applied by the projection from the rollout record. They hold
// while the canary is routed (also at weight 0 in a blue-green preview, and for WebSocket upgrades),
// targeted traffic is judged as the canary's, and the rules end with the rollout.
import { request as httpRequest } from 'node:http';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { RolloutStatus, ServiceStatus } from '../../../src/api/ports.js';
import { isTerminal, type Phase } from '../../../src/domain/rollout.js';
import type { TargetingRule } from '../../../src/domain/targeting.js';
import { waitFor } from '../../helpers/process.js';
import { startTraffic } from '../../helpers/traffic.js';
import { admin, http, service, useHarness, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

const RULES: TargetingRule[] = [
  { header: { name: 'X-Internal-User', value: '1' } },
  { cookie: { name: 'beta', value: 'yes' } },
  { query: { name: 'canary', regex: '^(1|true)$' } },
];
const INTERNAL = { 'x-internal-user': '1' };
// Steps never advance by themselves here (60 s); maxLatencyRatio 5 as in canary.test.ts (loopback noise).
const POLICY = { steps: [5, 100], stepInterval: '60s', analysisInterval: '250ms', maxLatencyRatio: 5 };

const status = async (v: TestVeer): Promise<ServiceStatus> =>
  (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json;
const phaseOf = async (v: TestVeer): Promise<Phase | undefined> => (await status(v)).rollout?.phase;
const untilPhase = (v: TestVeer, phase: Phase, timeoutMs = 10_000) =>
  waitFor(async () => (await phaseOf(v)) === phase, { timeoutMs, intervalMs: 20, what: `phase ${phase}` });

async function startRollout(v: TestVeer, canary: string, rollout: Record<string, unknown> = {}) {
  const r = await admin<RolloutStatus>(v, 'POST', '/v1/services/web/rollouts', {
    canary: { targets: [canary] },
    rollout,
  });
  expect(r.status, JSON.stringify(r.json)).toBe(201);
  expect(r.json.phase).toBe('progressing');
  return r.json;
}

/** Which upstream answers each of `n` sequential requests. */
async function answers(v: TestVeer, n: number, headers: Record<string, string> = {}, path = '/'): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push((await http(`${v.url}${path}`, { headers })).text);
  return out;
}
const all = (n: number, name: string): string[] => new Array<string>(n).fill(name);

describe('targeting rules in a canary rollout', () => {
  it('send matching requests to the canary at 5%, to stable while it rolls back, and end with the abort', async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary');
    let release: () => void = () => undefined;
    canary.behave({
      handler: (req, res) => {
        const answer = () => res.writeHead(200, { 'x-upstream': 'canary' }).end('canary');
        if (req.url === '/hold') release = answer;
        else answer();
      },
    });
    const v = await h.veer({
      services: [
        service('web', [stable.address], [], { rollout: { ...POLICY, drainTimeout: '10s', targeting: RULES } }),
      ],
    });
    const started = await startRollout(v, canary.address);
    expect(started.weight).toBe(5);
    expect(started.targeting).toEqual(RULES);

    expect(await answers(v, 20, INTERNAL)).toEqual(all(20, 'canary'));
    expect(await answers(v, 5, { cookie: 'session=abc; beta=yes' })).toEqual(all(5, 'canary'));
    expect(await answers(v, 5, {}, '/search?q=x&canary=1')).toEqual(all(5, 'canary'));
    // Ordinary requests follow the 5% split (P(≥ 20 of 100) is below 1e-6).
    const plain = await answers(v, 100, { 'x-internal-user': '2' });
    expect(plain.filter((a) => a === 'canary').length).toBeLessThan(20);

    // A targeted request in flight keeps the canary draining, so the rolling-back phase lasts.
    const held = http(`${v.url}/hold`, { headers: INTERNAL });
    await waitFor(() => canary.requests.some((r) => r.url === '/hold'), { timeoutMs: 5_000, what: 'the held request' });
    const abort = admin(v, 'POST', '/v1/services/web/rollout/abort', { reason: 'enough' });
    await untilPhase(v, 'rolling-back');
    expect(await answers(v, 10, INTERNAL)).toEqual(all(10, 'stable'));
    release();
    expect((await held).text).toBe('canary');
    expect((await abort).status).toBe(200);
    await untilPhase(v, 'aborted');
    expect(await answers(v, 10, INTERNAL)).toEqual(all(10, 'stable'));
    expect(await answers(v, 5, {}, '/?canary=true')).toEqual(all(5, 'stable'));
    expect((await status(v)).rollout?.targeting).toEqual(RULES);
  });

  it("come from the rollout request, replacing the config's, and end with the promotion", async () => {
    const v1 = await h.upstream('v1');
    const v2 = await h.upstream('v2');
    const v3 = await h.upstream('v3');
    const v = await h.veer({
      services: [service('web', [v1.address], [], { rollout: { ...POLICY, targeting: RULES } })],
    });

    const bad = await admin<{ error: { problems: unknown[] } }>(v, 'POST', '/v1/services/web/rollouts', {
      canary: { targets: [v2.address] },
      rollout: { targeting: [{ header: { name: 'X-Internal-User', regex: '(' } }] },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.problems).toEqual([
      { path: 'rollout.targeting[0].header.regex', message: 'is not a valid regular expression (Unterminated group)' },
    ]);
    expect((await status(v)).rollout).toBeNull();

    await startRollout(v, v2.address, { targeting: [RULES[0]] });
    expect(await answers(v, 10, INTERNAL)).toEqual(all(10, 'v2'));
    // The request's rules replace the config's: its cookie rule is not among them.
    expect((await answers(v, 40, { cookie: 'beta=yes' })).filter((a) => a === 'v2').length).toBeLessThan(15);

    const promoted = await admin(v, 'POST', '/v1/services/web/rollout/promote', { full: true });
    expect(promoted.status).toBe(200);
    await untilPhase(v, 'succeeded');
    expect(await answers(v, 5, INTERNAL)).toEqual(all(5, 'v2'));

    // The next rollout has its own rules: none here, so the header follows its 5% split.
    const next = await startRollout(v, v3.address, { targeting: [] });
    expect(next.weight).toBe(5);
    expect(next.targeting).toBeUndefined();
    const seen = await answers(v, 60, INTERNAL);
    expect(seen.filter((a) => a === 'v3').length).toBeLessThan(20);
    expect(seen.filter((a) => a === 'v2').length).toBeGreaterThan(40);
  });
});

describe('targeting rules in a blue-green preview (weight 0)', () => {
  const PREVIEW = { ...POLICY, strategy: 'blue-green', drainTimeout: '2s', targeting: [RULES[0]] };

  it('route a bad canary only targeted traffic, which is judged and rolls it back', async () => {
    const blue = await h.upstream('blue');
    const green = await h.upstream('green', { status: (n) => (n % 2 === 0 ? 503 : 200) });
    const v = await h.veer({ services: [service('web', [blue.address], [], { rollout: PREVIEW })] });
    expect((await startRollout(v, green.address)).weight).toBe(0);

    const done = async () => isTerminal((await phaseOf(v)) ?? 'progressing');
    const ordinary = startTraffic({ url: v.url, rps: 100, maxMs: 20_000, until: done });
    const internal = startTraffic({ url: v.url, rps: 100, maxMs: 20_000, until: done, headers: INTERNAL });
    h.defer(() => Promise.all([ordinary.stop(), internal.stop()]).catch(() => undefined));
    const [o, i] = await Promise.all([ordinary.done, internal.done]);

    expect(o.stoppedBy).toBe('predicate');
    const s = await status(v);
    expect(s.rollout?.phase).toBe('rolled-back');
    expect(s.rollout?.reason).toMatch(/error rate/);
    // The evidence was the targeted traffic's: the canary's requests in the verdict, failures included.
    expect(s.rollout?.lastVerdict?.canary.requests).toBeGreaterThan(0);
    expect(s.rollout?.lastVerdict?.canary.errors).toBeGreaterThan(0);
    expect(o.failures).toBe(0);
    expect(o.byUpstream).toEqual({ blue: o.completed });
    expect(i.byUpstream.green ?? 0).toBeGreaterThan(20);
    expect(i.failures).toBeGreaterThan(0);
    expect(await answers(v, 5, INTERNAL)).toEqual(all(5, 'blue'));
  });

  it('send a matching WebSocket upgrade to the canary, and the others to stable', async () => {
    const blue = await echoServer('blue');
    const green = await echoServer('green');
    const v = await h.veer({ services: [service('web', [blue.address], [], { rollout: PREVIEW })] });
    await startRollout(v, green.address);

    expect(await upgradedBy(v, INTERNAL)).toBe('green');
    expect(await upgradedBy(v, { 'x-internal-user': 'no' })).toBe('blue');
    expect(await upgradedBy(v)).toBe('blue');
    expect(green.upgrades).toBe(1);

    expect((await admin(v, 'POST', '/v1/services/web/rollout/abort', {})).status).toBe(200);
    await untilPhase(v, 'aborted');
    expect(await upgradedBy(v, INTERNAL)).toBe('blue');
  });
});

/** An upstream that accepts every upgrade, names itself in the 101 and echoes the tunnel's bytes. */
async function echoServer(name: string) {
  let upgrades = 0;
  const s = await h.server(
    (_req, res) => res.writeHead(200, { 'x-upstream': name }).end(name),
    (_req, socket: Duplex) => {
      upgrades++;
      socket.on('error', () => socket.destroy());
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nX-Upstream: ${name}\r\n\r\n`,
      );
      socket.pipe(socket);
    },
  );
  return {
    address: s.address,
    get upgrades() {
      return upgrades;
    },
  };
}

/** Upgrades through veer, checks the tunnel echoes, and says which upstream answered the 101. */
function upgradedBy(v: TestVeer, headers: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${v.url}/ws`, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', ...headers },
    });
    const timer = setTimeout(() => req.destroy(new Error('upgrade timed out')), 5_000);
    req.on('upgrade', (res, socket) => {
      socket.once('data', (c: Buffer) => {
        clearTimeout(timer);
        socket.destroy();
        if (c.toString() !== 'ping') reject(new Error(`tunnel echoed ${JSON.stringify(c.toString())}`));
        else resolve(String(res.headers['x-upstream']));
      });
      socket.write('ping');
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}
