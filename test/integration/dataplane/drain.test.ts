// Drain as a front door's users expect: requests that outlive a removed target's drain get 504
// drain_timeout (veer's own cut, counted apart from the pool's errors), and WebSocket tunnels to a
// removed target end at the end of its drain with a close frame 1001, never left open.
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { countersOf } from '../../helpers/pool-counters.js';
import { admin, deadPort, http, service, useHarness, waitFor, type TestVeer } from '../../helpers/veer.js';

const h = useHarness();

const CLOSE_1001 = Buffer.from([0x88, 0x02, 0x03, 0xe9]);

/** A WebSocket-ish upstream: accepts upgrades and lets the test push raw frame bytes to each client. */
async function frameServer(name: string) {
  const sockets: Duplex[] = [];
  const s = await h.server(
    (_req, res) => res.writeHead(200, { 'x-upstream': name }).end(name),
    (req: IncomingMessage, socket: Duplex) => {
      socket.on('error', () => socket.destroy());
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade ?? 'websocket'}\r\n` +
          `Connection: Upgrade\r\nX-Upstream: ${name}\r\n\r\n`,
      );
      sockets.push(socket);
    },
  );
  return { ...s, sockets };
}

interface Tunnel {
  socket: Socket;
  received: Buffer[];
  closed: Promise<void>;
}

function openTunnel(v: TestVeer, headers: Record<string, string> = {}): Promise<Tunnel> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${v.url}/ws`, {
      agent: false,
      headers: { connection: 'Upgrade', upgrade: 'websocket', ...headers },
    });
    const timer = setTimeout(() => req.destroy(new Error('upgrade timed out')), 5_000);
    req.on('upgrade', (_res, socket) => {
      clearTimeout(timer);
      h.defer(() => socket.destroy());
      const received: Buffer[] = [];
      socket.on('data', (c: Buffer) => received.push(c));
      socket.on('error', () => undefined);
      const closed = new Promise<void>((r) => socket.on('close', () => r()));
      resolve({ socket, received, closed });
    });
    req.on('response', (res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
}

/** Bounds a wait that must end on its own (the test fails if it does not). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>(
    (_r, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms)),
  );
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

describe('HTTP requests cut by the drain bound', () => {
  it("get 504 drain_timeout, counted as drain cuts and not as the pool's errors", async () => {
    const slow = await h.upstream('slow', { delayMs: 5_000 });
    const next = await h.upstream('next');
    const v = await h.veer({ services: [service('web', [slow.address])] });
    const before = await countersOf(v);
    const pending = Promise.all([http(`${v.url}/a`), http(`${v.url}/b`)]);
    await waitFor(() => slow.hits === 2, 'both requests at the slow target', 3_000, 5);
    expect(v.plane.update('web', { stable: [{ host: '127.0.0.1', port: next.port, id: next.address }] })).toBe(true);
    const drained = await v.plane.drain([slow.address], 300);
    expect(drained).toMatchObject({ drained: false, cut: 2 });
    const answers = await pending;
    for (const r of answers) {
      expect(r.status).toBe(504);
      expect(JSON.parse(r.text).error.code).toBe('drain_timeout');
    }
    const after = await countersOf(v);
    expect(after.stable.errors).toBe(before.stable.errors);
    expect(after.stable.requests).toBe(before.stable.requests);
    expect(after.stable.drainCut).toBe(before.stable.drainCut + 2);
    expect(after.ejected).toEqual([]);
    expect((await http(`${v.url}/c`)).headers['x-upstream']).toBe('next');
  });

  it("a rollback whose drain cuts a slow canary request does not add to the canary's error count", async () => {
    const stable = await h.upstream('stable');
    const canary = await h.upstream('canary', { delayMs: 5_000 });
    const v = await h.veer({
      services: [
        service('web', [stable.address], [], {
          rollout: { steps: [50, 100], stepInterval: '1m', drainTimeout: '300ms', minRequests: 1000 },
        }),
      ],
      proxy: { overrideHeader: 'x-veer-pool' },
    });
    const started = await admin<{ phase: string }>(v, 'POST', '/v1/services/web/rollouts', {
      canary: { targets: [canary.address] },
    });
    expect(started.status).toBe(201);
    const before = await countersOf(v);
    const pending = http(`${v.url}/slow`, { headers: { 'x-veer-pool': 'canary' } });
    await waitFor(() => canary.hits === 1, 'the request at the canary', 3_000, 5);
    expect((await admin(v, 'POST', '/v1/services/web/rollout/abort', { reason: 'test' })).status).toBe(200);
    const r = await pending;
    expect(r.status).toBe(504);
    expect(JSON.parse(r.text).error.code).toBe('drain_timeout');
    const after = await countersOf(v);
    expect(after.canary.errors).toBe(before.canary.errors);
    expect(after.canary.drainCut).toBe(before.canary.drainCut + 1);
  });
});

describe('WebSocket tunnels to a removed target', () => {
  it('end at the end of the drain with a close frame 1001 to the client', async () => {
    const old = await frameServer('old');
    const next = await frameServer('next');
    const v = await h.veer({ services: [service('web', [old.address])] });
    const t = await openTunnel(v);
    await waitFor(() => old.sockets.length === 1, 'the tunnel at the old target', 3_000, 5);
    // A whole text frame "hi" goes through untouched.
    (old.sockets[0] as Duplex).write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    await waitFor(() => Buffer.concat(t.received).length === 4, 'the frame to reach the client', 3_000, 5);

    v.plane.update('web', { stable: [{ host: '127.0.0.1', port: next.port, id: next.address }] });
    const r = await v.plane.drain([old.address], 200);
    expect(r.tunnels).toBe(1);
    await within(t.closed, 3_000, 'the client tunnel to close');
    const bytes = Buffer.concat(t.received);
    expect(bytes.subarray(4)).toEqual(CLOSE_1001);
    const fresh = await openTunnel(v);
    await waitFor(() => next.sockets.length === 1, 'a new tunnel at the new target', 3_000, 5);
    fresh.socket.destroy();
  });

  it('a tunnel caught in the middle of a frame is closed without a corrupting close frame', async () => {
    const old = await frameServer('old');
    const v = await h.veer({ services: [service('web', [old.address])] });
    const t = await openTunnel(v);
    await waitFor(() => old.sockets.length === 1, 'the tunnel at the old target', 3_000, 5);
    // Header of a 10-byte frame, and only 3 of its payload bytes.
    (old.sockets[0] as Duplex).write(Buffer.from([0x82, 0x0a, 1, 2, 3]));
    await waitFor(() => Buffer.concat(t.received).length === 5, 'the partial frame to reach the client', 3_000, 5);
    v.plane.update('web', { stable: [] });
    expect((await v.plane.drain([old.address], 100)).tunnels).toBe(1);
    await within(t.closed, 3_000, 'the client tunnel to close');
    expect(Buffer.concat(t.received)).toEqual(Buffer.from([0x82, 0x0a, 1, 2, 3]));
  });

  it("a rollback closes the canary's tunnels; the stable's stay open", async () => {
    const stable = await frameServer('stable');
    const canary = await frameServer('canary');
    const v = await h.veer({
      services: [
        service('web', [stable.address], [], {
          rollout: { steps: [50, 100], stepInterval: '1m', drainTimeout: '200ms', minRequests: 1000 },
        }),
      ],
      proxy: { overrideHeader: 'x-veer-pool' },
    });
    expect(
      (await admin(v, 'POST', '/v1/services/web/rollouts', { canary: { targets: [canary.address] } })).status,
    ).toBe(201);
    const toCanary = await openTunnel(v, { 'x-veer-pool': 'canary' });
    const toStable = await openTunnel(v, { 'x-veer-pool': 'stable' });
    await waitFor(
      () => canary.sockets.length === 1 && stable.sockets.length === 1,
      'one tunnel at each pool',
      3_000,
      5,
    );
    expect((await admin(v, 'POST', '/v1/services/web/rollout/abort', {})).status).toBe(200);
    await within(toCanary.closed, 5_000, 'the canary tunnel to close');
    expect(Buffer.concat(toCanary.received)).toEqual(CLOSE_1001);
    // The stable tunnel still carries frames.
    (stable.sockets[0] as Duplex).write(Buffer.from([0x81, 0x01, 0x21]));
    await waitFor(() => Buffer.concat(toStable.received).length === 3, 'a frame on the stable tunnel', 3_000, 5);
    expect(toStable.socket.destroyed).toBe(false);
  });
});

describe('upgrades in the per-pool metrics', () => {
  it('a 101 counts as a request, a failed connect as an error, a refused upgrade by its status', async () => {
    const ws = await frameServer('ws');
    const v = await h.veer({ services: [service('web', [ws.address])] });
    const before = await countersOf(v);
    const t = await openTunnel(v);
    let after = await countersOf(v);
    expect(after.stable.requests - before.stable.requests).toBe(1);
    expect(after.stable.errors - before.stable.errors).toBe(0);
    t.socket.destroy();

    const dead = await h.veer({
      services: [service('web', [`127.0.0.1:${await deadPort()}`], [], { outlier: { consecutiveErrors: 1000 } })],
    });
    const deadBefore = await countersOf(dead);
    await expect(openTunnel(dead)).rejects.toThrow(/502/);
    after = await countersOf(dead);
    expect(after.stable.requests - deadBefore.stable.requests).toBe(1);
    expect(after.stable.errors - deadBefore.stable.errors).toBe(1);

    const plain = await h.upstream('plain', { status: 426 });
    const refusing = await h.veer({ services: [service('web', [plain.address])] });
    const refBefore = await countersOf(refusing);
    await expect(openTunnel(refusing)).rejects.toThrow(/426/);
    after = await countersOf(refusing);
    expect(after.stable.requests - refBefore.stable.requests).toBe(1);
    expect(after.stable.errors - refBefore.stable.errors).toBe(0);
  });
});
