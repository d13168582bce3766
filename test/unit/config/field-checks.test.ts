// Values the config once took and then failed on at run time, or that did nothing: each is refused here,
// naming the field and what was expected.
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { inspectConfigText, loadConfigFile, parseConfigText } from '../../../src/config/load.js';
import type { Problem } from '../../../src/domain/errors.js';

function problems(text: string): Problem[] {
  const r = parseConfigText(text, {});
  if (r.ok) throw new Error(`expected the config to be invalid:\n${text}`);
  return [...r.error.problems];
}
const ok = (text: string): boolean => parseConfigText(text, {}).ok;
const web = (extra: string) => `services:\n  - name: web\n    stable: { targets: ["127.0.0.1:9001"] }\n${extra}`;

describe('config values refused before they fail at run time', () => {
  it('a duration longer than a timer can wait (it would fire at once)', () => {
    for (const v of ['600h', '99999999999h', '2147483648'])
      expect(problems(`proxy: { timeouts: { waitForTarget: ${v} } }`)).toEqual([
        { path: 'proxy.timeouts.waitForTarget', message: 'must be at most 596h (the longest a timer can wait)' },
      ]);
    expect(ok('proxy: { timeouts: { waitForTarget: 596h } }')).toBe(true);
  });

  it('an error rate limit of 0; steps given to a blue-green rollout are a warning (they do nothing)', () => {
    expect(problems(web('    rollout: { maxErrorRate: 0 }'))).toEqual([
      { path: 'services[0].rollout.maxErrorRate', message: 'must be > 0' },
    ]);
    const warned = (extra: string) => inspectConfigText(web(extra), {}).warnings.map((w) => w.path);
    expect(warned('    rollout: { strategy: blue-green, steps: [10, 100] }')).toEqual(['services[0].rollout.steps']);
    expect(ok(web('    rollout: { strategy: blue-green, steps: [10, 100] }'))).toBe(true);
    expect(warned('    rollout: { strategy: blue-green }')).toEqual([]);
    expect(warned('    rollout: { strategy: canary, steps: [10, 100] }')).toEqual([]);
  });

  it('a listen host that is neither a name nor an address', () => {
    for (const v of ['999.1.1.1:8080', 'host name:8080', '[zz]:80', '127.1:8080'])
      expect(problems(`listen: "${v}"`)).toEqual([{ path: 'listen', message: expect.stringContaining(`got "${v}"`) }]);
    for (const v of [':8080', '0.0.0.0:8080', '[::]:8080', '[::1]:8080', 'localhost:8080', 'my_host:8080'])
      expect(ok(`listen: "${v}"`), v).toBe(true);
  });

  it('an admin token that begins or ends with whitespace (a header value cannot carry it)', () => {
    expect(problems('admin: { listen: "0.0.0.0:9090", token: "   " }')).toContainEqual({
      path: 'admin.token',
      message: 'must not begin or end with whitespace (a header value cannot carry it)',
    });
    expect(problems('admin: { token: "s3cret\\n" }').map((p) => p.path)).toEqual(['admin.token']);
  });

  it('the sample config keeps a token that reads as a number or a boolean as its text', async () => {
    const sample = fileURLToPath(new URL('../../../proxy.config.yaml', import.meta.url));
    for (const token of ['1234e5', '0x1f', 'true', '007']) {
      const r = await loadConfigFile(sample, { VEER_ADMIN_TOKEN: token });
      expect(r.ok && r.value.admin.token).toBe(token);
    }
  });

  it('an access log output that is a directory', () => {
    const dir = tmpdir();
    expect(problems(`accessLog: { output: "${dir}" }`)).toEqual([
      { path: 'accessLog.output', message: `${dir} is a directory, not a file` },
    ]);
  });

  it('a sticky cookie browsers drop or delete at once', () => {
    expect(problems(web('    sticky: { cookie: "__Host-veer" }'))).toEqual([
      {
        path: 'services[0].sticky.secure',
        message: 'must be true for a cookie named __Host-… or __Secure-… (browsers drop it otherwise)',
      },
    ]);
    expect(ok(web('    sticky: { cookie: "__Secure-veer", secure: true }'))).toBe(true);
    for (const v of ['0s', '500ms'])
      expect(problems(web(`    sticky: { cookie: veer, maxAge: ${v} }`))).toEqual([
        { path: 'services[0].sticky.maxAge', message: 'must be at least 1s (Max-Age=0 deletes the cookie)' },
      ]);
  });

  it('a rollout step with more than two decimals (0.001 would be a step of 0%)', () => {
    expect(problems(web('    rollout: { steps: [0.001, 33.333, 50.25, 100] }'))).toEqual([
      { path: 'services[0].rollout.steps[0]', message: 'at most two decimals are allowed (weights are kept to 0.01%)' },
      { path: 'services[0].rollout.steps[1]', message: 'at most two decimals are allowed (weights are kept to 0.01%)' },
    ]);
  });

  it('one anchored policy shared by a thousand services is no alias bomb; a bomb is refused in plain words', () => {
    const service = (i: number): string =>
      `  - { name: s${i}, match: { hosts: [s${i}.test] }, stable: { targets: [] }, rollout: ${i === 0 ? '&p ' : '*p'}` +
      `${i === 0 ? '{ steps: [10, 100], minRequests: 50 }' : ''} }`;
    const shared = `services:\n${Array.from({ length: 1000 }, (_, i) => service(i)).join('\n')}\n`;
    const r = parseConfigText(shared, {});
    expect(r.ok ? r.value.services[999]?.rollout.minRequests : r.error.problems).toBe(50);
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(10)
          .fill(`*${'abcdefghi'[i - 1]}`)
          .join(', ')}]`,
      );
    expect(problems(`${levels.join('\n')}\n`)[0]?.message).toBe(
      'YAML: aliases (*name) repeat anchored values more than 10000 times, counting the aliases inside what each ' +
        'one repeats (a guard against alias bombs)',
    );
  });

  it('YAML mistakes said as what they most likely are', () => {
    expect(problems('services:\n  - name: web\n    match: { hosts: [*.example.com] }\n')[0]?.message).toContain(
      'hint: quote a value that starts with "*", e.g. "*.example.com"',
    );
    expect(problems(`services: ${'['.repeat(5000)}`)[0]?.message).toMatch(/the document nests too deeply$/);
    expect(problems('services:\n  - name: "-web"\n')).toContainEqual({
      path: 'services[0].name',
      message: 'must be lowercase letters, digits, "-" or "_", starting with a letter or digit (max 63)',
    });
  });

  it('a target listed twice in a pool, and an empty docker label name or network', () => {
    expect(problems(web('').replace('["127.0.0.1:9001"]', '["127.0.0.1:9001", "web:80", "127.0.0.1:9001"]'))).toEqual([
      { path: 'services[0].stable.targets[2]', message: 'duplicate target "127.0.0.1:9001" (also targets[0])' },
    ]);
    const docker = (d: string) => `services:\n  - name: web\n    stable: { docker: { ${d} } }\n`;
    expect(problems(docker('selector: { "": web }, port: 80')).map((p) => p.path)).toEqual([
      'services[0].stable.docker.selector[""]',
    ]);
    expect(problems(docker('selector: { app: web }, port: 80, network: ""'))).toEqual([
      {
        path: 'services[0].stable.docker.network',
        message: 'must not be empty (leave it out to reach containers at their published port)',
      },
    ]);
  });

  it('a reload refuses a file with nothing in it, in every spelling of nothing', () => {
    for (const text of ['', '# only a comment\n', '---\n', '~\n', 'null\n']) {
      const r = inspectConfigText(text, {}, 'veer.yaml', {}, true).result;
      expect(r.ok ? 'taken' : r.error.message, JSON.stringify(text)).toMatch(/the file is empty/);
      expect(parseConfigText(text, {}).ok).toBe(true); // veer start: the all-defaults config, as before
    }
  });

  it('a value of the wrong type is told the form expected', () => {
    expect(problems('state: { leaseTtl: true }')).toEqual([
      { path: 'state.leaseTtl', message: 'expected a duration like "500ms", "30s", "2m", got true' },
    ]);
    expect(problems(web('').replace('["127.0.0.1:9001"]', '[8080]'))).toEqual([
      { path: 'services[0].stable.targets[0]', message: 'expected a "host:port" string, got 8080' },
    ]);
  });

  it('a YAML tag outside the core schema, which the parser would turn into something else silently', () => {
    expect(problems('admin: !!omap [ { listen: "0.0.0.0:9090" } ]\n')).toEqual([
      {
        path: '',
        message:
          'YAML tag !!omap (on the value at line 1, column 15) is not taken: ' +
          'a config holds strings, numbers, booleans, lists and mappings',
      },
    ]);
    for (const t of ['!!binary aGVsbG8=\n', 'state: !!set { a, b }\n', 'listen: !custom x\n'])
      expect(problems(t), t).toHaveLength(1);
    expect(parseConfigText('listen: !!str "127.0.0.1:8080"\n', {}).ok).toBe(true);
  });
});
