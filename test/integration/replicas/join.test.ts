// A replica is in the registry before it serves a request: the leader judges a second complete once every
// replica it knows of has shipped it, so one that served unregistered could be left out of a second judged
// complete. The test holds Redis's writes (CLIENT PAUSE WRITE) from veer's first health probe, during its
// start-up, for less than veer's command timeout: a replica that listened before registering is seen
// accepting while the registry is still empty.
import net from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { replicasKey } from '../../../src/store/keys.js';
import { freePort } from '../../helpers/free-port.js';
import { waitFor } from '../../helpers/process.js';
import { service } from '../../helpers/veer.js';
import { freshPrefix, startReplicas } from './harness.js';
import { useReplicaSuite } from './suite.js';

const suite = useReplicaSuite();

/** Shorter than veer's Redis command timeout (1 s), so the held heartbeat still lands. */
const HOLD_MS = 700;

const accepts = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

describe('a replica joining the cluster', () => {
  it('is registered before its data port accepts a connection', async () => {
    const redis = new Redis(suite.redis.url, { maxRetriesPerRequest: 1 });
    try {
      const prefix = freshPrefix('join');
      let held: Promise<unknown> | null = null;
      // veer's first health probe (during its start-up, before the data listener): hold Redis's writes,
      // then answer, so everything after the probe meets the hold.
      const stable = await suite.upstream('stable', {
        handler: (_req, res) => {
          held ??= redis.call('CLIENT', 'PAUSE', String(HOLD_MS), 'WRITE');
          void held.then(() => res.end('ok'));
        },
      });
      const port = await freePort();
      const check = { enabled: true, interval: '100ms', timeout: '2s', healthyThreshold: 1 };
      const starting = startReplicas({
        redisUrl: suite.redis.url,
        prefix,
        services: [service('web', [stable.address], [], { healthCheck: check })],
        count: 1,
        listen: `127.0.0.1:${port}`,
      });
      // The registry as it was when the data port first accepted.
      const registered = await waitFor(
        async () => ((await accepts(port)) ? { replicas: await redis.zcard(replicasKey(prefix)) } : null),
        { timeoutMs: 25_000, intervalMs: 2, what: 'the data port to accept' },
      );
      await starting;
      expect(held).not.toBeNull();
      expect(registered.replicas).toBe(1);
    } finally {
      await redis.call('CLIENT', 'UNPAUSE').catch(() => undefined);
      redis.disconnect();
    }
  });
});
