// A value the admin API refuses in `veer rollout`, `shift` or `maintenance` is a usage error: exit 64, not
// the 1 of a rolled-back rollout, so a CI step tells a broken pipeline from a rollback; each problem is
// named by the flag the user typed, with the API's own message after it. A real veer; the CLI's runCli in
// this process (what the executable calls; a dozen tsx children at once are too slow on a loaded machine).
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { admin, deadPort, service, useHarness } from '../helpers/veer.js';

const h = useHarness();

async function cli(argv: string[], adminUrl: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, {
    out: (l) => out.push(l),
    err: (l) => err.push(l),
    env: { VEER_ADMIN_URL: adminUrl },
  });
  return { code, stdout: out.join('\n'), stderr: err.join('\n') };
}

describe('values the API refuses', () => {
  it('exit 64 naming the flag; nothing is changed; an unknown service stays exit 1', async () => {
    const t = `127.0.0.1:${await deadPort()}`;
    const v = await h.veer({ services: [service('web', [t])] });
    const own = v.url.replace('http://', '');
    const cases: Array<[string[], string | RegExp, number]> = [
      [
        ['rollout', 'web', '--targets', t, '--strategy', 'foo'],
        'error: --strategy: expected "canary" or "blue-green", got "foo"',
        64,
      ],
      [
        ['rollout', 'web', '--targets', t, '--step-interval', 'banana'],
        /^error: --step-interval: expected a duration like .*, got "banana"$/,
        64,
      ],
      [
        ['rollout', 'web', '--targets', t, '--steps', '50,10'],
        'error: --steps (item 2): must be greater than the previous step (50)',
        64,
      ],
      [['rollout', 'web', '--image', 'nginx:1', '--count', '0'], 'error: --count: must be ≥ 1', 64],
      [
        ['rollout', 'web', '--image', 'nginx:1', '--env', 'NOEQ', '--env', 'A=1', '--env', 'B'],
        'error: the request was rejected:\n  - --env (item 1): expected "KEY=value"\n' +
          '  - --env (item 3): expected "KEY=value"',
        64,
      ],
      [['rollout', 'web', '--image='], 'error: --image: must not be empty', 64],
      [
        ['rollout', 'web', '--targets', `${t},${t}`],
        `error: --targets (item 2): duplicate target "${t}" (also canary.targets[0])`,
        64,
      ],
      [['rollout', 'web', '--targets', own], /^error: --targets \(item 1\): is veer's own data-plane listener /, 64],
      [['shift', 'web', '101'], 'error: <weight>: must be between 0 and 100, got 101', 64],
      [
        ['maintenance', 'web', 'on', '--mode', 'x'],
        'error: --mode: expected "hold" (requests wait) or "page" (503 page)',
        64,
      ],
      [['maintenance', 'web', 'on', '--retry-after', '100000h'], /^error: --retry-after: must be from 1s to 24h/, 64],
      // Not the user's typing: the service is gone (a reload removed it), as before.
      [['rollout', 'nope', '--targets', t], "error: service 'nope' not found", 1],
    ];
    for (const [argv, stderr, code] of cases) {
      const r = await cli(argv, v.adminUrl);
      expect({ argv, code: r.code, stdout: r.stdout }).toEqual({ argv, code, stdout: '' });
      if (typeof stderr === 'string') expect(r.stderr, argv.join(' ')).toBe(stderr);
      else expect(r.stderr, argv.join(' ')).toMatch(stderr);
    }
    const web = await admin<{ weight: number; rollout: unknown }>(v, 'GET', '/v1/services/web');
    expect([web.json.weight, web.json.rollout]).toEqual([0, null]);
    expect((await admin<{ on: boolean }>(v, 'GET', '/v1/services/web/maintenance')).json.on).toBe(false);
  });
});
