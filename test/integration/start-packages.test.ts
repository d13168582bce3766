// What a `veer start` loads: acme-client, dockerode, ssh2 and ioredis are required at their first use
// (src/lazy-package.ts), so a front door with static targets and the memory store loads none of them (they were
// ~0.7 s of its start's CPU). The Redis store is the control: its config loads ioredis, so the probe (a preload that
// lists require.cache at exit) sees a package the config asks for.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChild } from '../helpers/process.js';
import { startRedis, type RedisHandle } from '../helpers/redis.js';
import { startVeerChild } from '../helpers/veer-child.js';
import { useHarness } from '../helpers/veer.js';

const h = useHarness();
const PROBE = join(import.meta.dirname, '../fixtures/loaded-packages.cjs');
const LAZY = ['acme-client', 'dockerode', 'ssh2', 'ioredis'];

let redis: RedisHandle;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

/** The packages a veer started with `config` loaded by the time it exited (SIGTERM). */
async function loadedBy(config: Record<string, unknown>): Promise<string[]> {
  const v = await startVeerChild(h, config, 20_000, ['--require', PROBE]);
  const pid = v.child.pid as number;
  await stopChild(v.child, 10_000);
  const file = join(tmpdir(), `veer-loaded-${pid}.txt`);
  const names = (await readFile(file, 'utf8')).split('\n');
  await rm(file, { force: true });
  return names;
}

const service = { name: 'web', match: { hosts: ['*'], pathPrefix: '/' }, stable: { targets: ['127.0.0.1:9'] } };

describe('veer start loads only the packages its config uses', () => {
  it('static targets and the memory store: none of acme-client, dockerode, ssh2 and ioredis', async () => {
    const names = await loadedBy({ services: [service] });
    expect(names).toContain('fastify'); // the admin API: the probe lists what was loaded
    expect(LAZY.filter((n) => names.includes(n))).toEqual([]);
  });

  it('the Redis store: ioredis, and still none of the other three', async () => {
    const names = await loadedBy({ services: [service], state: { store: 'redis', redis: redis.url } });
    expect(LAZY.filter((n) => names.includes(n))).toEqual(['ioredis']);
  });
});
