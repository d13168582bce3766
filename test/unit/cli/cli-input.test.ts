// What the CLI refuses before it asks anything of the admin API, through runCli as the executable
// calls it: weights and steps that are not plain decimals, service names outside the config's rule,
// admin URLs that are not an origin, an option given twice, options that mean nothing with `maintenance
// off`, and control characters in what it prints. The admin address is a closed port: nothing here may reach it.
import { describe, expect, it } from 'vitest';
import { checkAnswer, serviceAnswer, servicesAnswer, rolloutAnswer } from '../../../src/cli/answers.js';
import { resolveAdmin } from '../../../src/cli/client.js';
import type { CliIO } from '../../../src/cli/command.js';
import { internalError, runCli } from '../../../src/cli/main.js';
import { printable } from '../../../src/cli/printable.js';
import { requestBody } from '../../../src/cli/rollout-request.js';
import { policyValue } from '../../../src/cli/simulation/report.js';
import { parseSteps, plainDecimal } from '../../../src/cli/weight.js';

interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Port 9 (discard) on loopback: refused at once, should any command get that far. */
const NOWHERE = 'http://127.0.0.1:9';

async function cli(argv: string[], env: NodeJS.ProcessEnv = { VEER_ADMIN_URL: NOWHERE }): Promise<Ran> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIO = { out: (l) => out.push(l), err: (l) => err.push(l), env };
  const code = await runCli(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('weights and steps', () => {
  it('takes only plain decimals', () => {
    for (const [text, n] of [
      ['10', 10],
      ['10.5', 10.5],
      ['10.25', 10.25],
      ['0', 0],
      ['-5', -5],
      // Number() took these before the check, and scripts may write them.
      ['+10', 10],
      ['.5', 0.5],
      ['10.', 10],
      [' 12.5 ', 12.5],
    ] as const)
      expect(plainDecimal(text)).toBe(n);
    for (const bad of ['0x10', '0b1', '0o7', '1e2', '0.1e1', '', ' ', '.', '+', 'Infinity', '1_0', '++5', '1.2.3'])
      expect(plainDecimal(bad), bad).toBeNull();
  });

  it('refuses hex, binary, octal and exponent weights for shift, before any request (exit 64)', async () => {
    for (const w of ['0x10', '0b1', '0o7', '1e2', '0.1e1']) {
      const r = await cli(['shift', 'web', w]);
      expect(r.code, w).toBe(64);
      expect(r.err).toBe(
        `error: <weight>: expected a plain decimal percentage from 0 to 100 like 10 or 12.5, got "${w}"`,
      );
    }
  });

  it('refuses such steps and empty list items in rollout', () => {
    expect(parseSteps('5,25,100')).toEqual({ ok: true, value: [5, 25, 100] });
    expect(parseSteps('0x10,100')).toEqual({
      ok: false,
      error: '--steps: expected plain decimal weights like 5,25,100, got "0x10,100"',
    });
    expect(parseSteps('5,,100').ok).toBe(false);
    const targets = requestBody({ targets: 'a:1,' });
    expect(targets).toEqual({
      ok: false,
      error:
        '--targets: expected a comma-separated list like 10.0.0.5:8080,10.0.0.6:8080 without empty items, got "a:1,"',
    });
    expect(requestBody({ image: 'x', count: '0x10' })).toEqual({
      ok: false,
      error: '--count: expected a whole number, got "0x10"',
    });
  });

  it('rollout --steps 0x10,100 is a usage error', async () => {
    const r = await cli(['rollout', 'web', '--targets', '127.0.0.1:1', '--steps', '0x10,100']);
    expect(r.code).toBe(64);
    expect(r.err).toContain('--steps: expected plain decimal weights');
  });
});

describe('repeated options', () => {
  it('an option given twice is a usage error naming it, before any request; --env may repeat', async () => {
    for (const argv of [
      ['rollout', 'web', '--targets', '127.0.0.1:9001', '--targets', '127.0.0.1:9002'],
      ['shift', 'web', '10', '--admin', NOWHERE, '--admin', 'http://127.0.0.1:10'],
    ]) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(64);
      expect(r.err.split('\n')[0]).toMatch(/^error: option --(targets|admin) is given more than once: give it once/);
    }
    const env = await cli(['rollout', 'web', '--image', 'app:2', '--env', 'A=1', '--env', 'B=2']);
    expect(env.err).not.toContain('more than once');
  });
});

describe('service names', () => {
  it('refuses ".", "..", "" and names outside the config rule for every command taking <service>', async () => {
    const cases = [
      ['history', '.'],
      ['history', '..'],
      ['status', ''],
      ['shift', '..', '10'],
      ['maintenance', '.', 'on'],
      ['promote', 'a/b'],
      ['abort', 'Web'],
      ['undo', '_x'],
      ['retry', 'rollouts?x=1'],
      ['rollout', '..', '--targets', '127.0.0.1:1'],
    ];
    for (const argv of cases) {
      const r = await cli(argv);
      expect(r.code, argv.join(' ')).toBe(64);
      expect(r.err).toContain(`error: <service>: expected a service name as in the config (lowercase letters`);
      expect(r.err).toContain(`got ${JSON.stringify(argv[1])}`);
      expect(r.err).not.toContain('cannot reach');
    }
  });
});

describe('admin URL', () => {
  it('takes only an origin, and names the option or the variable it came from', () => {
    expect(resolveAdmin({ admin: 'http://127.0.0.1:9090/' }, {})).toMatchObject({
      ok: true,
      value: { url: 'http://127.0.0.1:9090' },
    });
    for (const bad of ['http://h:1/v1', 'http://h:1?x=1', 'http://h:1/#f', 'http://u:p@h:1', 'http://h:1?']) {
      const viaOption = resolveAdmin({ admin: bad }, {});
      expect(viaOption.ok, bad).toBe(false);
      if (!viaOption.ok) expect(viaOption.error.message).toMatch(/^--admin: .*expected http\(s\):\/\/host:port\)$/);
      const viaEnv = resolveAdmin({}, { VEER_ADMIN_URL: bad });
      if (!viaEnv.ok) expect(viaEnv.error.message).toMatch(/^VEER_ADMIN_URL: /);
      expect(viaEnv.ok).toBe(false);
    }
    const withPassword = resolveAdmin({ admin: 'http://u:secret@127.0.0.1:1' }, {});
    expect(withPassword.ok ? '' : withPassword.error.message).toBe(
      '--admin: must not hold credentials (use --token or VEER_ADMIN_TOKEN), ' +
        'got "http://u:***@127.0.0.1:1" (expected http(s)://host:port)',
    );
    // A secret in a query, fragment or path (a CI variable holding a token) is never echoed; its place is named.
    const echoed = (url: string): string => {
      const r = resolveAdmin({}, { VEER_ADMIN_URL: url });
      return r.ok ? '' : r.error.message;
    };
    expect(echoed('http://h:1/?token=SUPERSECRET')).toBe(
      'VEER_ADMIN_URL: must be an origin only, without a path, a query or a fragment, ' +
        'got "http://h:1" with a query (not shown) (expected http(s)://host:port)',
    );
    expect(echoed('https://h:1/SUPERSECRET/x#SUPERSECRET')).toContain('got "https://h:1" with a path and a fragment');
    for (const url of [
      'http://h:1/v1?t=SUPERSECRET#SUPERSECRET',
      'ftp://h/?SUPERSECRET',
      'u:SUPERSECRET@h:1',
      '?SUPERSECRET',
    ])
      expect(echoed(url), url).not.toContain('SUPERSECRET');
    const notUrl = resolveAdmin({}, { VEER_ADMIN_URL: 'localhost:9090' });
    expect(notUrl.ok).toBe(false);
  });

  it('a token a header cannot carry is a usage error naming its source, the character and its place', async () => {
    const r = await cli(['status', '--token', 'abc\ndef'], {});
    expect(r.code).toBe(64);
    expect(r.err).toBe(
      'error: --token: must be printable ASCII without spaces, found U+000A at character 4 ' +
        '(the token travels in an Authorization header as "Bearer <token>")',
    );
    const viaEnv = resolveAdmin({}, { VEER_ADMIN_TOKEN: 'tok ' });
    expect(viaEnv.ok ? '' : viaEnv.error.message).toBe(
      'VEER_ADMIN_TOKEN: must not begin or end with whitespace (a header value cannot carry it)',
    );
    expect(resolveAdmin({}, { VEER_ADMIN_TOKEN: 'a!~Z9' })).toMatchObject({ ok: true, value: { token: 'a!~Z9' } });
    expect(resolveAdmin({}, { VEER_ADMIN_TOKEN: '' })).toMatchObject({ ok: true, value: { token: '' } });
  });

  it('an invalid VEER_ADMIN_URL is a usage error naming the variable', async () => {
    const r = await cli(['status'], { VEER_ADMIN_URL: 'http://127.0.0.1:9/v1' });
    expect(r.code).toBe(64);
    expect(r.err).toBe(
      'error: VEER_ADMIN_URL: must be an origin only, without a path, a query or a fragment, ' +
        'got "http://127.0.0.1:9" with a path (not shown) (expected http(s)://host:port)',
    );
  });
});

describe('maintenance options', () => {
  it('refuses fractional --retry-after like sub-second ones', async () => {
    for (const v of ['1.5s', '500ms', '1500ms']) {
      const r = await cli(['maintenance', 'web', 'on', '--mode', 'page', '--retry-after', v]);
      expect(r.code, v).toBe(64);
      expect(r.err).toBe(`error: --retry-after: expected whole seconds like "30s", got "${v}"`);
    }
  });

  it('says --mode and --retry-after are ignored with off (a script may always pass them), and goes on', async () => {
    const off = ['maintenance', 'web', 'off', '--admin', 'http://127.0.0.1:9'];
    const one = await cli([...off, '--mode', 'page']);
    expect(one.err.split('\n')[0]).toBe('warning: --mode ignored with "off" (it lets requests through)');
    // It went on to ask the admin API (nothing listens on port 9): not a usage error.
    expect(one.code).toBe(1);
    const two = await cli([...off, '--retry-after', '5s', '--mode', 'hold']);
    expect(two.err.split('\n')[0]).toBe(
      'warning: --mode and --retry-after ignored with "off" (it lets requests through)',
    );
  });
});

describe('printing', () => {
  it('escapes C0, C1 and bidi controls but keeps newlines and tabs', () => {
    expect(printable('a\x1b]0;pwned\x07b')).toBe('a\\u001b]0;pwned\\u0007b');
    expect(printable('x\u009by\u202ez\u2066')).toBe('x\\u009by\\u202ez\\u2066');
    expect(printable('l1\n\tl2')).toBe('l1\n\tl2');
    // JSON stays JSON: the escape is JSON's own.
    expect(JSON.parse(printable(JSON.stringify({ s: '\u009b\u202e' })))).toEqual({ s: '\u009b\u202e' });
  });

  it('an unknown command with escape codes is echoed escaped', async () => {
    const r = await cli(['\x1b]0;pwned\x07\x1b[31mred']);
    expect(r.code).toBe(64);
    expect(r.err.split('\n')[0]).toBe('error: unknown command "\\u001b]0;pwned\\u0007\\u001b[31mred"');
    expect(r.err).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  });

  it('an unexpected exception is one line naming its class, without its message or stack', () => {
    const line = internalError(new TypeError('services.map is not a function'));
    expect(line).toBe(
      'error: internal error in veer (TypeError); please report it with the command line that caused it',
    );
  });

  it('runCli turns an exception thrown while running a command into that line, exit 1', async () => {
    const err: string[] = [];
    const io: CliIO = {
      out: () => {
        throw new TypeError("Cannot read properties of undefined (reading 'x')");
      },
      err: (l) => err.push(l),
      env: {},
    };
    expect(await runCli(['--version'], io)).toBe(1);
    expect(err).toEqual([internalError(new TypeError())]);
  });

  it("simulate's policy block shows gates as a mapping, not [object Object]", () => {
    expect(policyValue({ before: { url: 'http://g/x' } })).toBe('{"before":{"url":"http://g/x"}}');
    expect(policyValue({})).toBe('{}');
    expect(policyValue([5, 25, 100])).toBe('[5, 25, 100]');
    expect(policyValue('30s')).toBe('30s');
  });
});

describe('answers', () => {
  const url = 'http://127.0.0.1:1/v1/services';
  it('names what was wrong and asks whether --admin points at veer', () => {
    expect(checkAnswer(null, servicesAnswer, url)).toEqual({
      ok: false,
      error: {
        code: 'bad_response',
        message:
          `unexpected answer from ${url}: expected a JSON object or list, got null — ` +
          "is --admin pointing at veer's admin API?",
        problems: [],
      },
    });
    const message = (r: { ok: boolean; error?: { message: string } }): string => r.error?.message ?? 'accepted';
    expect(message(checkAnswer({ services: [] }, servicesAnswer, url))).toContain(
      `${url}: the answer: expected a list, got an object — is --admin`,
    );
    expect(message(checkAnswer({ name: 'web', weight: 'x' }, serviceAnswer, url))).toContain(
      ': weight: expected a number, got a string — ',
    );
    expect(message(checkAnswer({ weight: 1 }, serviceAnswer, url))).toContain(
      ': name: expected a string, got nothing — ',
    );
    expect(message(checkAnswer({ id: 'r', strategy: 'canary', phase: 'dancing' }, rolloutAnswer, url))).toContain(
      ': phase: expected one of starting, progressing,',
    );
  });
});

describe('--timeout and --wait', () => {
  it.each([
    [['rollout', 'web', '--targets', '127.0.0.1:1', '--timeout', '5m']],
    [['undo', 'web', '--timeout', '5m']],
    [['retry', 'web', '--timeout', '5m']],
  ])('--timeout without --wait is a usage error naming both, before any call: %j', async (argv) => {
    const r = await cli(argv);
    expect(r.code).toBe(64);
    expect(r.err).toBe(
      'error: --timeout goes with --wait (it bounds how long --wait follows the rollout); ' +
        'add --wait or drop --timeout',
    );
  });
});
