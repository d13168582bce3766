// What a `veer start` loads: acme-client, dockerode, ssh2 and ioredis are required at their first use
// (src/lazy-package.ts), so a front door with static targets and the memory store loads none of them (they were
// ~0.7 s of its start's CPU). The Redis store is the control: its config loads ioredis, so the probe (a preload that
// lists require.cache at exit) sees a package the config asks for. A client command (`veer shift`) speaks to the
// admin API over node:http: undici, loading and compiling its parser, was half of its second of CPU.
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../helpers/cli-entry.js';
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

/** The packages the process `pid` listed when it exited. */
async function listedBy(pid: number): Promise<string[]> {
  const file = join(tmpdir(), `veer-loaded-${pid}.txt`);
  const names = (await readFile(file, 'utf8')).split('\n');
  await rm(file, { force: true });
  return names;
}

/** The packages a veer started with `config` loaded by the time it exited (SIGTERM). */
async function loadedBy(config: Record<string, unknown>): Promise<string[]> {
  const v = await startVeerChild(h, config, 20_000, ['--require', PROBE]);
  const pid = v.child.pid as number;
  await stopChild(v.child, 10_000);
  return listedBy(pid);
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

describe('a client command of the admin API', () => {
  it('`veer shift` loads neither undici nor fastify, and its shift is made', async () => {
    const v = await startVeerChild(h, { services: [service] }, 20_000);
    h.defer(() => stopChild(v.child, 10_000));
    const args = ['--require', PROBE, ...CLI_ENTRY, 'shift', 'web', '30', '--admin', v.adminUrl];
    const run = await new Promise<{ pid: number; code: number; stdout: string }>((resolve) => {
      const c = execFile(process.execPath, args, { timeout: 20_000 }, (e, stdout) =>
        resolve({ pid: c.pid as number, code: e === null ? 0 : Number(e.code ?? 1), stdout }),
      );
    });
    expect({ code: run.code, said: run.stdout }).toEqual({ code: 0, said: expect.stringMatching(/\b30%/) });
    const state = (await (await fetch(`${v.adminUrl}/v1/services/web`)).json()) as { weight: number };
    expect(state.weight).toBe(30);
    const names = await listedBy(run.pid);
    // The probe is the one that lists fastify for `veer start` above, so an empty list is a real one.
    expect(['undici', 'fastify'].filter((n) => names.includes(n))).toEqual([]);
  });
});
