// A Docker engine behind `ssh://`: veer reaches the local engine through a private sshd (one per test,
// test/helpers/sshd.ts) whose sessions run `docker system dial-stdio`. One SSH connection per endpoint
// carries every API call (sshd logs one login for a whole rollout); the host key is checked against
// known_hosts or a configured fingerprint and a mismatch is refused by name; an sshd that goes away
// (or comes back with another key) leaves the containers routed and stale, traffic untouched.
// HOME points at an empty dir and SSH_AUTH_SOCK is unset, so only what a test configures can work.
// Skipped without /usr/sbin/sshd or a Docker engine, unless VEER_REQUIRE_DOCKER=1.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { runTestApp } from '../../helpers/docker.js';
import {
  adminCall,
  containersOf,
  removeApp,
  startStable,
  useDockerApps,
  waitPhase,
  waitPoolSize,
  type DockerVeer,
} from '../../helpers/docker-veer.js';
import { waitFor, withTimeout } from '../../helpers/process.js';
import { sshSuite, startSshd, type SshdHandle } from '../../helpers/sshd.js';
import { startTraffic, type Traffic, type TrafficReport } from '../../helpers/traffic.js';

// Deprecation warnings (DEP0170 from a URL parse, …) from anything veer runs in this process: caught
// both where they are emitted and where they are printed.
const deprecations: string[] = [];
function noteWarning(warning: unknown, typeOrOptions?: unknown, code?: unknown): void {
  const opts =
    typeof typeOrOptions === 'object' && typeOrOptions !== null ? (typeOrOptions as Record<string, unknown>) : {};
  const type = typeof typeOrOptions === 'string' ? typeOrOptions : (opts.type ?? (warning as Error)?.name);
  const c = String(code ?? opts.code ?? (warning as { code?: unknown })?.code ?? '');
  const message = warning instanceof Error ? warning.message : String(warning);
  if (type === 'DeprecationWarning' || c.startsWith('DEP')) deprecations.push(`${type} ${c}: ${message}`);
}
const onWarning = (w: Error): void => noteWarning(w);
const emitWarning = process.emitWarning;
process.emitWarning = function (this: unknown, warning: string | Error, ...rest: unknown[]): void {
  noteWarning(warning, rest[0], rest[1]);
  (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
} as typeof process.emitWarning;
process.on('warning', onWarning);

const suite = await sshSuite('docker/ssh-engine.test');
const apps = useDockerApps();
const work = mkdtempSync(path.join(tmpdir(), 'veer-ssh-engine-'));
const emptyHome = path.join(work, 'empty-home');
mkdirSync(emptyHome);
const savedEnv = { HOME: process.env.HOME, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK };

beforeAll(() => {
  process.env.HOME = emptyHome;
  delete process.env.SSH_AUTH_SOCK;
});

// Per test: veers first (they hold the SSH connection), then sshd, then the test's containers.
const veers: DockerVeer[] = [];
const servers: SshdHandle[] = [];
const testApps: string[] = [];
const everySshd: SshdHandle[] = [];
afterEach(async () => {
  // A veer stuck on its SSH connection must not keep sshd or the containers alive: all three steps
  // run, and the first failure is reported after them.
  const closed = await Promise.allSettled(veers.splice(0).map((v) => withTimeout(v.close(), 15_000, 'veer to close')));
  const stopped = await Promise.allSettled(servers.splice(0).map((s) => s.close()));
  const removed = await Promise.allSettled(testApps.splice(0).map((a) => removeApp(a)));
  const failed = [...closed, ...stopped, ...removed].find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
}, 60_000);

afterAll(async () => {
  await Promise.allSettled(everySshd.map((s) => s.close()));
  process.off('warning', onWarning);
  process.emitWarning = emitWarning;
  for (const [k, v] of Object.entries(savedEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  rmSync(work, { recursive: true, force: true });
});

async function sshd(): Promise<SshdHandle> {
  const s = await startSshd();
  servers.push(s);
  everySshd.push(s);
  return s;
}

function app(prefix: string): string {
  const a = apps.app(prefix);
  testApps.push(a);
  return a;
}

let files = 0;
function knownHosts(...lines: string[]): string {
  const file = path.join(work, `known_hosts-${++files}`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** veer with one endpoint, "remote", at the test's sshd; `auth` adds identityFile/knownHosts/…. */
async function veer(a: string, s: SshdHandle, auth: Record<string, unknown>): Promise<DockerVeer> {
  const endpoint = { name: 'remote', host: `ssh://root@127.0.0.1:${s.port}`, ...auth };
  const v = await apps.veer({
    app: a,
    owner: `t-${a}`,
    docker: { endpoints: [endpoint] },
    service: { healthCheck: { path: '/healthz', interval: '300ms', healthyThreshold: 1 } },
  });
  veers.push(v);
  return v;
}

interface Target {
  id: string;
  stale: boolean;
}

async function stableTargets(admin: string): Promise<Target[]> {
  const r = await adminCall(admin, 'GET', '/v1/services/web');
  return (r.body.pools.stable.targets as Target[]).slice().sort((x, y) => x.id.localeCompare(y.id));
}

/** Waits until the stable pool is exactly `ids`, every one with `stale` as given. */
async function waitPool(admin: string, ids: string[], stale: boolean, timeoutMs: number): Promise<void> {
  const want = JSON.stringify([...ids].sort());
  await waitFor(
    async () => {
      const targets = await stableTargets(admin);
      return JSON.stringify(targets.map((t) => t.id)) === want && targets.every((t) => t.stale === stale);
    },
    { timeoutMs, intervalMs: 100, what: `stable pool ${want}, ${stale ? 'stale' : 'not stale'}` },
  );
}

/** `POST /v1/prune` (dry run): the endpoints veer could not list, with why. */
async function unreachable(admin: string): Promise<Array<{ endpoint: string; error: string }>> {
  const r = await adminCall(admin, 'POST', '/v1/prune', { dryRun: true });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.unreachable;
}

/** Waits until prune reports "remote" unreachable with an error matching `why`; returns that error. */
async function waitUnreachable(admin: string, why: RegExp, timeoutMs = 30_000): Promise<string> {
  return waitFor(
    async () => {
      const u = await unreachable(admin);
      return u.length === 1 && u[0]?.endpoint === 'remote' && why.test(u[0].error) ? u[0].error : null;
    },
    { timeoutMs, intervalMs: 250, what: `prune to report endpoint "remote" unreachable (${why})` },
  );
}

async function served(traffic: Traffic, n: number, what: string): Promise<void> {
  const mark = traffic.snapshot().ok;
  await waitFor(() => traffic.snapshot().ok >= mark + n, { timeoutMs: 20_000, what: `${n} requests ${what}` });
}

/** Every request answered 2xx, none failed on the network. */
function expectAllOk(report: TrafficReport): void {
  const notOk = Object.entries(report.byStatus).filter(([code]) => !code.startsWith('2'));
  expect({ notOk, networkErrors: report.networkErrors, failures: report.failureLog.slice(0, 5) }).toEqual({
    notOk: [],
    networkErrors: 0,
    failures: [],
  });
}

const wrongFingerprint = (): string => `SHA256:${randomBytes(32).toString('base64').replace(/=+$/, '')}`;

/** A known_hosts line for another host and another (valid) ed25519 key. */
function otherHostLine(): string {
  const raw = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const str = (b: Buffer): Buffer => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
  const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(raw)]);
  return `[127.0.0.1]:1 ssh-ed25519 ${blob.toString('base64')}`;
}

suite('a Docker engine behind ssh://', () => {
  it(
    'routes and rolls out an image over one SSH connection (identity file, known_hosts)',
    { timeout: 150_000 },
    async () => {
      const s = await sshd();
      const a = app('ssh');
      const stable = await startStable(a, 2);
      const v = await veer(a, s, { identityFile: s.clientKey, knownHosts: knownHosts(s.knownHostsLine()) });
      const ids = await waitPoolSize(v.admin, 'stable', 2, 30_000);
      expect(ids.sort()).toEqual(stable.map((c) => c.target).sort());

      const traffic = startTraffic({ url: v.url, rps: 50, maxMs: 110_000, upstreamHeader: 'x-app-version' });
      const started = await adminCall(v.admin, 'POST', '/v1/services/web/rollouts', {
        canary: { image: 'veer-test-app:2' },
      });
      expect(started.status, JSON.stringify(started.body)).toBe(201);
      const done = await waitPhase(v.admin, ['succeeded', 'rolled-back', 'aborted'], 90_000);
      await served(traffic, 50, 'after the rollout');
      const report = await traffic.stop();
      expect(done.phase, done.reason).toBe('succeeded');
      expect(report.failures).toBe(0);
      expect((await containersOf(a)).map((c) => [c.state, c.image])).toEqual([
        ['running', 'veer-test-app:2'],
        ['running', 'veer-test-app:2'],
      ]);
      // Every call ran `docker system dial-stdio` on its own channel (a rollout makes dozens), all on
      // one and the same connection.
      const commands = s.commands();
      expect(commands.length).toBeGreaterThanOrEqual(10);
      expect(commands.filter((c) => !/(^|\/|\s)docker system dial-stdio$/.test(c))).toEqual([]);
      expect(s.logins, s.log()).toBe(1);
    },
  );

  it(
    'checks the host key against hostKeyFingerprint; a wrong one is refused, naming the host key',
    {
      timeout: 90_000,
    },
    async () => {
      const s = await sshd();
      const a = app('ssh-fp');
      const stable = await startStable(a, 2);
      const good = await veer(a, s, { identityFile: s.clientKey, hostKeyFingerprint: s.fingerprint() });
      expect((await waitPoolSize(good.admin, 'stable', 2, 30_000)).sort()).toEqual(stable.map((c) => c.target).sort());
      expect(await unreachable(good.admin)).toEqual([]);
      await good.close();
      expect(s.logins, s.log()).toBe(1);

      const bad = await veer(a, s, { identityFile: s.clientKey, hostKeyFingerprint: wrongFingerprint() });
      const error = await waitUnreachable(bad.admin, /host key/i);
      expect(error).toContain('127.0.0.1');
      expect(await stableTargets(bad.admin)).toEqual([]);
      // Refused during the key exchange: no credentials were offered to the impostor.
      expect(s.logins, s.log()).toBe(1);
    },
  );

  it(
    'finds ~/.ssh/id_ed25519 and a hashed entry in ~/.ssh/known_hosts when nothing is configured',
    {
      timeout: 90_000,
    },
    async () => {
      const s = await sshd();
      const a = app('ssh-home');
      const stable = await startStable(a, 2);
      const home = path.join(work, 'home');
      mkdirSync(path.join(home, '.ssh'), { recursive: true, mode: 0o700 });
      copyFileSync(s.clientKey, path.join(home, '.ssh', 'id_ed25519'));
      const lines = [otherHostLine(), s.knownHostsLine({ hashed: true })];
      writeFileSync(path.join(home, '.ssh', 'known_hosts'), `${lines.join('\n')}\n`);
      process.env.HOME = home;
      try {
        const v = await veer(a, s, {});
        expect((await waitPoolSize(v.admin, 'stable', 2, 30_000)).sort()).toEqual(stable.map((c) => c.target).sort());
        expect(await unreachable(v.admin)).toEqual([]);
        await v.close();
      } finally {
        process.env.HOME = emptyHome;
      }
      expect(s.logins, s.log()).toBe(1);
    },
  );

  it(
    'a host key that changes while veer runs: targets stay routed but stale, the error names the host key',
    {
      timeout: 120_000,
    },
    async () => {
      const s = await sshd();
      const a = app('ssh-rekey');
      const stable = (await startStable(a, 2)).map((c) => c.target);
      const v = await veer(a, s, { identityFile: s.clientKey, knownHosts: knownHosts(s.knownHostsLine()) });
      await waitPool(v.admin, stable, false, 30_000);
      const traffic = startTraffic({ url: v.url, rps: 50, maxMs: 100_000 });
      try {
        await served(traffic, 20, 'before the key changes');
        await s.restartWithNewHostKey();
        await waitPool(v.admin, stable, true, 30_000);
        const error = await waitUnreachable(v.admin, /host key/i);
        expect(error).toContain('127.0.0.1');
        await served(traffic, 100, 'while the host key does not match');
        await waitPool(v.admin, stable, true, 5_000);
      } finally {
        await traffic.stop();
      }
      expectAllOk(await traffic.done);
      expect(s.logins, s.log()).toBe(1);
    },
  );

  it(
    'an sshd that stops: targets stay routed but stale; back with the same key, one new login reconciles',
    {
      timeout: 150_000,
    },
    async () => {
      const s = await sshd();
      const a = app('ssh-outage');
      const stable = (await startStable(a, 2)).map((c) => c.target);
      const v = await veer(a, s, { identityFile: s.clientKey, knownHosts: knownHosts(s.knownHostsLine()) });
      await waitPool(v.admin, stable, false, 30_000);
      expect(s.logins, s.log()).toBe(1);
      const traffic = startTraffic({ url: v.url, rps: 50, maxMs: 130_000 });
      try {
        await served(traffic, 20, 'before sshd stops');
        await s.stop();
        await waitPool(v.admin, stable, true, 30_000);
        expect((await unreachable(v.admin)).map((u) => u.endpoint)).toEqual(['remote']);
        // Started behind veer's back: only a listing after the outage can find it.
        const late = await runTestApp({ labels: { app: a } });
        await served(traffic, 100, 'while sshd is down');

        await s.start();
        await waitPool(v.admin, [...stable, late.target], false, 60_000);
        await served(traffic, 50, 'after sshd is back');
        expect(await unreachable(v.admin)).toEqual([]);
      } finally {
        await traffic.stop();
      }
      expectAllOk(await traffic.done);
      expect(s.logins, s.log()).toBe(2);
    },
  );

  it('printed no deprecation warning', () => {
    expect(deprecations).toEqual([]);
  });
});
