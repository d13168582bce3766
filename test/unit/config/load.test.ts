import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectConfigText, loadConfigFile, parseConfigObject, parseConfigText } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import { ConfigError, type Problem } from '../../../src/domain/errors.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const fixture = (name: string) => join(root, 'test/fixtures/config', name);

function problemsOf(text: string, env: Record<string, string> = {}): Problem[] {
  const r = parseConfigText(text, env);
  if (r.ok) throw new Error('expected the config to be invalid');
  expect(r.error).toBeInstanceOf(ConfigError);
  expect(r.error.code).toBe('config_invalid');
  return [...r.error.problems];
}

function valid(text: string, env: Record<string, string> = {}): Config {
  const r = parseConfigText(text, env);
  if (!r.ok) throw new Error(`expected a valid config, got: ${r.error.message}`);
  return r.value;
}

const svc = (extra: string) => `services:\n  - name: web\n${extra}`;

describe('the sample proxy.config.yaml', () => {
  it('validates and says what the contract documents', async () => {
    const r = await loadConfigFile(join(root, 'proxy.config.yaml'), {});
    if (!r.ok) throw new Error(r.error.message);
    const c = r.value;
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(c.admin).toEqual({
      listen: { host: '127.0.0.1', port: 9090 },
      token: '',
      ui: { sessionTtl: 12 * 3600_000, secureCookie: 'auto' },
    });
    expect(c.state).toMatchObject({ store: 'file', path: '.veer/state.json' });
    expect(c.docker.endpoints).toEqual([{ name: 'local', host: 'unix:///var/run/docker.sock' }]);
    const web = c.services[0];
    expect(c.services).toHaveLength(1);
    expect(web?.name).toBe('web');
    expect(web?.stable.targets.map((t) => t.id)).toEqual(['127.0.0.1:9001']);
    expect(web?.canary.targets.map((t) => t.id)).toEqual(['127.0.0.1:9002']);
    expect(web?.sticky?.cookie).toBe('veer-web');
    expect(web?.rollout).toMatchObject({
      strategy: 'canary',
      steps: [5, 10, 25, 50, 100],
      stepInterval: 30_000,
      analysisInterval: 2000,
      minRequests: 200,
      maxErrorRate: 0.01,
      maxP99Ms: 800,
      failureLimit: 2,
    });
  });

  it('takes the admin token from VEER_ADMIN_TOKEN', async () => {
    const r = await loadConfigFile(join(root, 'proxy.config.yaml'), { VEER_ADMIN_TOKEN: 's3cret' });
    expect(r.ok && r.value.admin.token).toBe('s3cret');
  });
});

describe('defaults', () => {
  it('an empty file (or only comments) is the all-defaults config', () => {
    for (const text of ['', '# nothing yet\n']) {
      const c = valid(text);
      expect(c.listen).toEqual({ host: '0.0.0.0', port: 8080 });
      expect(c.state).toEqual({ store: 'file', path: '.veer/state.json', prefix: 'veer', leaseTtl: 5000 });
      expect(c.services).toEqual([]);
      expect(c.proxy.timeouts.upstreamIdle).toBe(4000);
    }
  });

  it('an empty file is valid with a warning that a reload would refuse it', () => {
    for (const text of ['', '# nothing yet\n', '---\n', '~\n']) {
      const r = inspectConfigText(text, {});
      expect(r.result.ok, JSON.stringify(text)).toBe(true);
      expect(r.warnings.map((w) => w.message).join(' '), JSON.stringify(text)).toMatch(/empty.*reload refuses it/);
    }
    expect(inspectConfigText('services: []\n', {}).warnings).toEqual([]);
  });

  it('fills a minimal service', () => {
    const web = valid(svc('')).services[0];
    expect(web?.match).toEqual({ hosts: ['*'], pathPrefix: '/' });
    expect(web?.weight).toBe(0);
    expect(web?.rollout.steps).toEqual([5, 10, 25, 50, 100]);
    expect(web?.rollout.progressDeadline).toBe(600_000);
    expect(web?.outlier.consecutiveErrors).toBe(5);
  });
});

describe('interpolation through the loader', () => {
  it('gives numbers and booleans from plain ${…} and strings from quoted ones', () => {
    const text = svc(
      '    sticky:\n      cookie: ${COOKIE}\n      secure: ${S}\n' +
        '    rollout:\n      minRequests: ${MIN}\n      stepInterval: ${STEP:-10s}\n' +
        'admin:\n  token: "${TOKEN}"\n',
    );
    const c = valid(text, { COOKIE: 'c1', S: 'true', MIN: '50', TOKEN: '12345' });
    expect(c.services[0]?.sticky).toMatchObject({ cookie: 'c1', secure: true });
    expect(c.services[0]?.rollout.minRequests).toBe(50);
    expect(c.services[0]?.rollout.stepInterval).toBe(10_000);
    expect(c.admin.token).toBe('12345');
  });

  it('reports an unset variable once, at its path, with the other problems', () => {
    const p = problemsOf(
      'admin:\n  token: ${VEER_X}\nlisten: nope\nservices:\n  - name: web\n    rollout:\n      minRequests: ${MIN}\n',
    );
    expect(p).toEqual([
      { path: 'admin.token', message: 'environment variable VEER_X is not set' },
      { path: 'services[0].rollout.minRequests', message: 'environment variable MIN is not set' },
      { path: 'listen', message: 'expected "host:port" (port 0–65535), got "nope"' },
    ]);
  });

  it('parseConfigObject interpolates and validates a plain object', () => {
    const r = parseConfigObject(
      { listen: '${ADDR}', services: [{ name: 'api', rollout: { minRequests: '${N}' } }] },
      { ADDR: '127.0.0.1:0', N: '9' },
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.listen).toEqual({ host: '127.0.0.1', port: 0 });
    expect(r.value.services[0]?.rollout.minRequests).toBe(9);
    const bad = parseConfigObject({ admin: { token: '${NOPE}' } }, {});
    expect(!bad.ok && bad.error.problems).toEqual([
      { path: 'admin.token', message: 'environment variable NOPE is not set' },
    ]);
  });
});

describe('problems', () => {
  it('lists every problem of a file with several wrong fields', async () => {
    const r = await loadConfigFile(fixture('many-errors.yaml'), {});
    if (r.ok) throw new Error('expected invalid');
    expect(r.error.message).toContain(`in ${fixture('many-errors.yaml')}`);
    const byPath = new Map(r.error.problems.map((p) => [p.path, p.message]));
    expect(byPath).toEqual(
      new Map([
        ['admin.token', 'environment variable VEER_TEST_UNSET_TOKEN is not set'],
        ['listen', 'expected "host:port" (port 0–65535), got "0.0.0.0:99999"'],
        ['state.redis', 'required when store is "redis" (redis://host:port)'],
        ['services[0].stable.targets[1]', 'expected "host:port", got "no-port"'],
        ['services[0].stable.targets[2]', 'port must be 1–65535, got 70000'],
        ['services[0].rollout.strategy', 'expected "canary" or "blue-green", got "linear"'],
        ['services[0].rollout.steps[3]', 'must be ≤ 100'],
        ['services[0].rollout.steps[2]', 'must be greater than the previous step (50)'],
        ['services[0].rollout.stepInterval', 'expected a duration like "500ms", "30s", "2m", got "30 s"'],
        ['services[0].rollout.analysisInterval', 'expected a duration like "500ms", "30s", "2m", got "-1s"'],
        ['services[0].rollout.minRequests', 'expected an integer, got 1.5'],
        ['services[0].rollout.maxErrorRate', 'must be < 1'],
        [
          'services[0].rollout.stepInteval',
          expect.stringMatching(/^unknown key \(expected one of: strategy, steps, stepInterval, /),
        ],
        [
          'services[0].colour',
          expect.stringMatching(
            new RegExp(
              String.raw`^unknown key \(expected one of: ` +
                String.raw`name, match, stable, canary, weight, sticky, healthCheck, outlier, rollout\b`,
            ),
          ),
        ],
      ]),
    );
    expect(r.error.problems).toHaveLength(14);
  });

  it('lists each unknown key separately', () => {
    const p = problemsOf('listen: 0.0.0.0:8080\nfoo: 1\nbar: 2\n');
    expect(p.map((x) => x.path)).toEqual(['foo', 'bar']);
    expect(p[0]?.message).toBe(
      'unknown key (expected one of: listen, admin, state, docker, proxy, services, notifications, reload, tls, ' +
        'accessLog, workers)',
    );
  });

  it('reports a YAML syntax error with its line and column', () => {
    const p = problemsOf('listen: 0.0.0.0:8080\nservices:\n  - name: x\n   bad: 1\n');
    expect(p).toHaveLength(1);
    expect(p[0]?.message).toMatch(/^YAML syntax error at line 4, column 1: /);
  });

  it('hints at quoting when ${…} breaks a flow collection', () => {
    const p = problemsOf('admin: { token: ${X} }\n');
    expect(p[0]?.message).toMatch(/^YAML syntax error at line 1, column \d+: .*hint: \$\{…\} cannot appear unquoted/);
  });

  it('rejects duplicate YAML keys and duplicate service names', () => {
    expect(problemsOf('listen: 0.0.0.0:1\nlisten: 0.0.0.0:2\n')[0]?.message).toBe(
      'YAML syntax error at line 2, column 1: Map keys must be unique',
    );
    // The same key written as a number and as a string is the same key once read.
    const pages = 'services:\n  - name: web\n    errorPages:\n      502: a.html\n      "502": b.html\n';
    expect(problemsOf(pages)[0]?.message).toBe('YAML syntax error at line 5, column 7: Map keys must be unique');
    expect(
      problemsOf('services:\n  - name: web\n  - name: api\n    match: { hosts: [api.example.com] }\n  - name: web\n'),
    ).toEqual([{ path: 'services[2].name', message: 'duplicate service name "web" (also services[0])' }]);
  });

  it('rejects a second YAML document', () => {
    expect(problemsOf('a: 1\n---\nb: 2\n')[0]?.message).toContain('single YAML document');
  });

  it('rejects steps that do not ascend or exceed 100', () => {
    const p = problemsOf(svc('    rollout: { steps: [10, 10, 5, 101] }\n'));
    expect(p).toEqual([
      { path: 'services[0].rollout.steps[3]', message: 'must be ≤ 100' },
      { path: 'services[0].rollout.steps[1]', message: 'must be greater than the previous step (10)' },
      { path: 'services[0].rollout.steps[2]', message: 'must be greater than the previous step (10)' },
    ]);
  });

  it('rejects bad durations', () => {
    const p = problemsOf(
      svc('    rollout: { stepInterval: "30 s", analysisInterval: -1s, drainTimeout: 0s, progressDeadline: 5 }\n'),
    );
    expect(p.map((x) => x.path)).toEqual([
      'services[0].rollout.stepInterval',
      'services[0].rollout.analysisInterval',
      'services[0].rollout.drainTimeout',
    ]);
    expect(p[2]?.message).toBe('must be a positive duration');
  });

  it('refuses a period so short it is a busy loop ("1ms" for "1m"), naming the least it takes', () => {
    const p = problemsOf(
      'state: { leaseTtl: 500ms }\n' +
        'tls: { watchInterval: 1ms }\n' +
        svc('    rollout: { stepInterval: 1ms, analysisInterval: 99ms }\n    healthCheck: { interval: 9ms }\n'),
    );
    const short = p.filter((x) => x.message.startsWith('must be at least'));
    expect(new Map(short.map((x) => [x.path, x.message]))).toEqual(
      new Map([
        ['state.leaseTtl', 'must be at least 1s'],
        ['tls.watchInterval', 'must be at least 10ms'],
        ['services[0].healthCheck.interval', 'must be at least 10ms'],
        ['services[0].rollout.stepInterval', 'must be at least 100ms'],
        ['services[0].rollout.analysisInterval', 'must be at least 100ms'],
      ]),
    );
    const least = valid(
      'state: { leaseTtl: 1s }\n' +
        svc('    rollout: { stepInterval: 100ms, analysisInterval: 100ms }\n    healthCheck: { interval: 10ms }\n'),
    );
    expect(least.state.leaseTtl).toBe(1000);
    expect(least.services[0]?.rollout.analysisInterval).toBe(100);
  });

  it('rejects bad targets', () => {
    const p = problemsOf(svc('    stable: { targets: ["localhost", "h:0", "[::1]:80", 8080] }\n'));
    expect(p).toEqual([
      { path: 'services[0].stable.targets[0]', message: 'expected "host:port", got "localhost"' },
      { path: 'services[0].stable.targets[1]', message: 'port must be 1–65535, got 0' },
      { path: 'services[0].stable.targets[3]', message: 'expected a "host:port" string, got 8080' },
    ]);
  });

  it('requires a redis url for the redis store', () => {
    expect(problemsOf('state: { store: redis }\n')).toEqual([
      { path: 'state.redis', message: 'required when store is "redis" (redis://host:port)' },
    ]);
    expect(valid('state: { store: redis, redis: "redis://127.0.0.1:6379" }\n').state.redis).toBe(
      'redis://127.0.0.1:6379',
    );
  });

  it('explains a missing required field, a wrong type at the root and a bad union', () => {
    expect(problemsOf(svc('    sticky: {}\n'))).toEqual([
      { path: 'services[0].sticky.cookie', message: 'required (expected a string)' },
    ]);
    expect(problemsOf('- a\n')).toEqual([{ path: '', message: 'expected a mapping (key: value), got a list' }]);
    expect(problemsOf('proxy: { overrideHeader: 5 }\n')).toEqual([
      { path: 'proxy.overrideHeader', message: 'expected a string or false, got 5' },
    ]);
  });
});

describe('loadConfigFile', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'veer-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names the path of a missing file', async () => {
    const path = join(dir, 'absent.yaml');
    const r = await loadConfigFile(path, {});
    expect(!r.ok && r.error.message).toBe(`cannot read config file ${path}: no such file`);
  });

  it('names the path of an unreadable one (a directory)', async () => {
    const r = await loadConfigFile(dir, {});
    expect(!r.ok && r.error.message).toBe(`cannot read config file ${dir}: it is a directory`);
  });

  it('reads and validates a file, using the env argument', async () => {
    const path = join(dir, 'ok.yaml');
    await writeFile(path, 'listen: 127.0.0.1:${PORT}\n');
    const r = await loadConfigFile(path, { PORT: '8181' });
    expect(r.ok && r.value.listen).toEqual({ host: '127.0.0.1', port: 8181 });
  });
});
