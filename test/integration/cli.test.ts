// The `veer` CLI as a child process against an admin app (fake directory) on a loopback port.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/api/app.js';
import { silentLogger } from '../../src/domain/log.js';
import { FakeDirectory, fakeDeps, fakeService, poolMetrics } from '../unit/api/fake-directory.js';
import { freePort } from '../helpers/process.js';
import { CLI_ENTRY } from '../helpers/cli-entry.js';

const ROOT = new URL('../../', import.meta.url).pathname;
const TOKEN = 'cli-test-token';
let app: FastifyInstance;
let adminUrl: string;
let tmp: string;
let directory: FakeDirectory;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Async on purpose: the admin app answers from this very process while the child runs. */
function veer(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VEER_')));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...CLI_ENTRY, ...args],
      {
        cwd: ROOT,
        env: { ...base, VEER_ADMIN_URL: adminUrl, VEER_ADMIN_TOKEN: TOKEN, ...env },
        timeout: 20_000,
        killSignal: 'SIGKILL',
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  directory = new FakeDirectory([
    fakeService('web', {
      weight: 25,
      pools: {
        stable: {
          targets: [
            { id: '127.0.0.1:9001', healthy: true, health: 'unchecked', ejected: false, outstanding: 0 },
            { id: '127.0.0.1:9002', healthy: true, health: 'unchecked', ejected: true, outstanding: 0 },
            { id: '127.0.0.1:9003', healthy: false, health: 'unhealthy', ejected: false, outstanding: 0 },
          ],
        },
        canary: {
          targets: [{ id: '127.0.0.1:9101', healthy: true, health: 'healthy', ejected: false, outstanding: 1 }],
        },
      },
      metrics: {
        stable: poolMetrics({ requests: 1200, errors: 12, errorRate: 0.01, p99Ms: 35.4 }),
        canary: poolMetrics({ requests: 400, errors: 0, errorRate: 0, p99Ms: 41 }),
      },
      rollout: {
        id: 'r-1',
        strategy: 'canary',
        phase: 'progressing',
        step: 2,
        weight: 25,
        reason: null,
        startedAt: '2024-01-01T00:00:00.000Z',
        updatedAt: '2024-01-01T00:01:00.000Z',
        steps: [5, 10, 25, 50, 100],
        stepStartedAt: '2024-01-01T00:01:00.000Z',
        failures: 0,
        canary: { targets: ['127.0.0.1:9101'] },
        lastVerdict: null,
      },
    }),
    fakeService('api'),
  ]);
  app = buildApp(fakeDeps(directory, { token: TOKEN }), { logger: silentLogger });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
  adminUrl = `http://127.0.0.1:${addr.port}`;
  tmp = await mkdtemp(join(tmpdir(), 'veer-cli-'));
});

afterAll(async () => {
  await app?.close();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('veer status', () => {
  it('prints a table with health counts, metrics per pool and the rollout phase', async () => {
    const r = await veer(['status']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^SERVICE\s+WEIGHT\s+STABLE\s+CANARY\s+REQ S\/C\s+ERR% S\/C\s+P99 S\/C\s+ROLLOUT$/);
    // The rollout column names the phase and the step: "progressing 3/5 25%".
    expect(lines[1]?.split(/\s+/)).toEqual([
      'web',
      '25%',
      '1/3',
      '1/1',
      '1200/400',
      '1.00/0.00',
      '35ms/41ms',
      'progressing',
      '3/5',
      '25%',
    ]);
    expect(lines[2]?.split(/\s+/)).toEqual(['api', '0%', '1/1', '0/0', '0/0', '-/-', '-/-', '-']);
    // The replicas that reported lately and which one leads (one replica here, which leads).
    expect(lines.at(-1)).toBe('replicas: 1 [r1*]; leader r1 (this one)');
  });

  it('prints the raw API answer with --json', async () => {
    const r = await veer(['status', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(JSON.parse(JSON.stringify(directory.list())));
  });

  it('shows one service by name', async () => {
    const r = await veer(['status', 'api', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'api', weight: 0 });
  });

  it('fails with the API message for an unknown service', async () => {
    const r = await veer(['status', 'nope']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("error: service 'nope' not found");
  });

  it('fails clearly on a wrong token', async () => {
    const r = await veer(['status'], { VEER_ADMIN_TOKEN: 'wrong' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: missing or invalid bearer token (set --token or VEER_ADMIN_TOKEN)');
  });

  it('fails clearly when the admin API is unreachable', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await veer(['status', '--admin', url]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`error: cannot reach veer admin at ${url} (is veer running?)`);
  });
});

describe('veer shift', () => {
  it('shifts and prints the new weight', async () => {
    const r = await veer(['shift', 'api', '12.5']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('api: canary weight 12.5%');
    expect(directory.shifts.at(-1)).toEqual({ name: 'api', bp: 1250 });
  });

  it('names the argument when the API refuses the weight: a usage error', async () => {
    const before = directory.shifts.length;
    const r = await veer(['shift', 'api', '150']);
    expect(r.code).toBe(64);
    expect(r.stderr.trim()).toBe('error: <weight>: must be between 0 and 100, got 150');
    expect(directory.shifts.length).toBe(before);
  });

  it('passes a negative weight to the API rather than reading it as an option', async () => {
    const r = await veer(['shift', 'api', '-1']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('<weight>: must be between 0 and 100, got -1');
  });

  it('fails for an unknown service', async () => {
    const r = await veer(['shift', 'nope', '10']);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("error: service 'nope' not found");
  });

  it('is a usage error without a number', async () => {
    const r = await veer(['shift', 'api', 'abc']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(
      '<weight>: expected a plain decimal percentage from 0 to 100 like 10 or 12.5, got "abc"',
    );
  });

  it.each(['0x10', '0b1', '0o7', '1e2', '0.1e1'])('is a usage error for %s, and the weight stays', async (w) => {
    const before = directory.get('api')?.weight;
    const r = await veer(['shift', 'api', w]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain(
      `<weight>: expected a plain decimal percentage from 0 to 100 like 10 or 12.5, got "${w}"`,
    );
    expect(directory.get('api')?.weight).toBe(before);
  });
});

describe('veer validate', () => {
  it('accepts a good file', async () => {
    const file = join(tmp, 'good.yaml');
    await writeFile(
      file,
      [
        'listen: 127.0.0.1:0',
        'services:',
        '  - name: web',
        '    stable: { targets: ["127.0.0.1:9001"] }',
        '  - name: api',
        '    match: { pathPrefix: /api }',
        '',
      ].join('\n'),
    );
    const r = await veer(['validate', '-c', file]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('ok: 2 services');
  });

  it('reads the file named by VEER_CONFIG', async () => {
    const file = join(tmp, 'env.yaml');
    await writeFile(file, 'services: []\n');
    const r = await veer(['validate'], { VEER_CONFIG: file });
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('ok: 0 services');
  });

  it('lists every problem of a bad file, without a stack trace', async () => {
    const file = join(tmp, 'bad.yaml');
    await writeFile(
      file,
      [
        'listen: nowhere',
        'services:',
        '  - name: Web!',
        '    stable: { targets: ["127.0.0.1:99999"] }',
        '    rollout: { steps: [10, 5], bogus: 1 }',
        '',
      ].join('\n'),
    );
    const r = await veer(['validate', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    for (const path of [
      'listen',
      'services[0].name',
      'services[0].stable.targets[0]',
      'services[0].rollout.steps[1]',
      'services[0].rollout.bogus',
    ]) {
      expect(r.stderr).toContain(`${path}: `);
    }
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('lists a duplicate service name together with the field errors and what start would refuse', async () => {
    const r = await veer(['validate', '-c', join(ROOT, 'test/fixtures/config/cross-errors.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('invalid configuration (7 problems):');
    for (const line of [
      '  services[2].name: duplicate service name "web" (also services[0])',
      '  services[0].rollout.steps[1]: must be greater than the previous step (50)',
      '  services[2].stable.docker.endpoint: no docker endpoint named "far" (docker.endpoints has: local)',
      "  services[0].stable.targets[1]: is veer's own data-plane listener 0.0.0.0:8080: traffic would loop",
      '  admin.token: required when admin.listen is not a loopback address',
      '  state.redis: unknown scheme',
    ]) {
      expect(r.stderr).toContain(line);
    }
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('refuses a tokenless admin API beyond loopback with exit 2, as start does', async () => {
    const file = join(tmp, 'validate-exposed.yaml');
    await writeFile(file, 'admin: { listen: "0.0.0.0:9090" }\nstate: { store: memory }\n');
    const r = await veer(['validate', '-c', file], { VEER_ADMIN_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(
      'admin.token: required when admin.listen is not a loopback address (got host "0.0.0.0")',
    );
  });

  it('warns about routes that can never match and still exits 0', async () => {
    const r = await veer(['validate', '-c', join(ROOT, 'test/fixtures/config/shadowed.yaml')]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe('ok: 4 services (3 warnings)');
    const warnings = r.stderr.trim().split('\n');
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(
      new RegExp(
        String.raw`^warning: services\[1\]\.match: "shadow" \(services\[1\]\) never receives a request: ` +
          String.raw`"web" \(services\[0\]\) comes first`,
      ),
    );
    expect(warnings[1]).toMatch(
      new RegExp(
        String.raw`^warning: services\[2\]\.match\.hosts\[0\]: never reaches "partial" \(services\[2\]\): ` +
          String.raw`.*"example\.com:8080" is the host "example\.com" of "web"`,
      ),
    );
    expect(warnings[2]).toMatch(
      /^warning: services\[3\]\.match\.pathPrefix: can never match: .*"\." or "\.\." segment/,
    );
  });

  it('prints warnings next to the problems of an invalid file', async () => {
    const file = join(tmp, 'both.yaml');
    await writeFile(
      file,
      ['listen: nowhere', 'services:', '  - name: a', '  - name: b', '    match: { pathPrefix: "/x?y" }', ''].join(
        '\n',
      ),
    );
    const r = await veer(['validate', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('  listen: expected "host:port"');
    expect(r.stderr).toContain('warning: services[1].match.pathPrefix: can never match');
  });

  it('reports a missing file as a config error', async () => {
    const r = await veer(['validate', '-c', join(tmp, 'missing.yaml')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('missing.yaml');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('veer start (refusals before anything listens)', () => {
  it('exits 2 on an invalid config', async () => {
    const file = join(tmp, 'start-bad.yaml');
    await writeFile(file, 'services:\n  - name: web\n    weight: 150\n');
    const r = await veer(['start', '-c', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('services[0].weight: must be between 0 and 100, got 150');
  });

  it('exits 2 when the admin API would listen beyond loopback without a token', async () => {
    const file = join(tmp, 'start-exposed.yaml');
    await writeFile(file, 'admin: { listen: "0.0.0.0:0" }\nstate: { store: memory }\n');
    const r = await veer(['start', '-c', file], { VEER_ADMIN_TOKEN: '' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('admin.token: required when admin.listen is not a loopback address');
  });
});

describe('usage', () => {
  it('prints the package version', async () => {
    const r = await veer(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('prints help listing only the registered commands', async () => {
    const r = await veer(['--help']);
    expect(r.code).toBe(0);
    const commands = [
      ...'start validate status shift rollout promote abort pause resume'.split(' '),
      ...'history undo retry prune reload maintenance simulate'.split(' '),
    ];
    for (const c of commands) expect(r.stdout).toContain(`veer ${c}`);
    expect(r.stdout).not.toMatch(new RegExp(`veer (?!${commands.join('|')})[a-z]+ `));
  });

  it.each([[['bogus']], [[]], [['status', '--nope']], [['status', 'a', 'b']], [['shift', 'web', '5', '--json']]])(
    'exits 64 for %j',
    async (args) => {
      const r = await veer(args);
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/^error: /);
      expect(r.stderr).toContain('veer ');
    },
  );
});
