// The keys that close the front door's holes: request body limits and sizes, per-service timeouts,
// the header-field limit, and the override header with the peers it is honoured from.
import { describe, expect, it } from 'vitest';
import { parseConfigObject, parseConfigText } from '../../../src/config/load.js';
import type { Config } from '../../../src/config/schema.js';
import type { Problem } from '../../../src/domain/errors.js';
import { formatSize, parseSize } from '../../../src/domain/size.js';

// No host lookups: preflight's self-address checks see an empty machine.
const HOST = { localAddresses: new Set<string>() };

function parse(proxy: Record<string, unknown> = {}, svc: Record<string, unknown> = {}) {
  return parseConfigObject(
    { proxy, services: [{ name: 'web', stable: { targets: ['10.0.0.1:80'] }, ...svc }] },
    {},
    HOST,
  );
}

function valid(proxy: Record<string, unknown> = {}, svc: Record<string, unknown> = {}): Config {
  const r = parse(proxy, svc);
  if (!r.ok) throw new Error(`expected a valid config, got: ${r.error.message}\n${JSON.stringify(r.error.problems)}`);
  return r.value;
}

function problems(proxy: Record<string, unknown> = {}, svc: Record<string, unknown> = {}): Problem[] {
  const r = parse(proxy, svc);
  if (r.ok) throw new Error('expected the config to be invalid');
  return [...r.error.problems];
}

/** The one problem at `path`. */
function problemAt(all: Problem[], path: string): Problem {
  const at = all.filter((p) => p.path === path);
  expect(at, `problems: ${JSON.stringify(all)}`).toHaveLength(1);
  return at[0] as Problem;
}

describe('parseSize', () => {
  it('reads sizes in binary multiples, in any case, with or without a space', () => {
    const cases: Array<[unknown, number]> = [
      ['10mb', 10 * 1024 * 1024],
      ['1.5kb', 1536],
      ['512kb', 512 * 1024],
      ['1gb', 1024 ** 3],
      ['1g', 1024 ** 3],
      ['2m', 2 * 1024 * 1024],
      ['4k', 4096],
      ['100b', 100],
      ['10MB', 10 * 1024 * 1024],
      ['1.5KB', 1536],
      ['10 mb', 10 * 1024 * 1024],
      [' 2kb ', 2048],
      ['0b', 0],
      [4096, 4096],
      [0, 0],
    ];
    for (const [input, bytes] of cases) expect(parseSize(input), JSON.stringify(input)).toEqual({ ok: true, bytes });
  });

  it('rounds a fractional byte count down', () => {
    expect(parseSize('1.0001kb')).toEqual({ ok: true, bytes: 1024 });
    expect(parseSize('0.5kb')).toEqual({ ok: true, bytes: 512 });
  });

  it('refuses what is not a size, quoting what was written', () => {
    for (const input of [
      '10 megabytes',
      '10mib',
      '1e3kb',
      '-1kb',
      '+1kb',
      '1,5kb',
      'kb',
      '',
      '   ',
      'ten',
      '10kb!',
      '0x10',
      '1.kb',
      '.5kb',
      '4096',
      '10 m b',
    ]) {
      const r = parseSize(input);
      expect(r.ok, JSON.stringify(input)).toBe(false);
      if (!r.ok) {
        expect(r.message, JSON.stringify(input)).toContain('expected a size like "512kb", "10mb", "1gb"');
        expect(r.message).toContain(`got "${input}"`);
      }
    }
  });

  it('refuses a number that is not a whole, non-negative, safe count of bytes', () => {
    for (const input of [1.5, -1, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expect(parseSize(input), String(input)).toEqual({ ok: false, message: 'expected a whole number of bytes ≥ 0' });
    }
  });

  it('refuses other types with the expected shapes', () => {
    for (const input of [true, null, undefined, {}, [], ['1kb']]) {
      const r = parseSize(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.message).toBe('expected a size like "512kb", "10mb", "1gb" or a number of bytes');
    }
  });

  it('formatSize writes the largest whole unit, and reads back', () => {
    const cases: Array<[number, string]> = [
      [0, '0b'],
      [100, '100b'],
      [1024, '1kb'],
      [1536, '1536b'],
      [10 * 1024 * 1024, '10mb'],
      [1024 ** 3, '1gb'],
      [3 * 1024 ** 3, '3gb'],
    ];
    for (const [bytes, text] of cases) {
      expect(formatSize(bytes)).toBe(text);
      expect(parseSize(text)).toEqual({ ok: true, bytes });
    }
  });
});

describe('services[].limits.maxRequestBody', () => {
  it('is absent (no limit) by default', () => {
    expect(valid().services[0]?.limits).toEqual({});
  });

  it('takes sizes and bytes', () => {
    expect(valid({}, { limits: { maxRequestBody: '10mb' } }).services[0]?.limits.maxRequestBody).toBe(10 * 1024 * 1024);
    expect(valid({}, { limits: { maxRequestBody: '1.5kb' } }).services[0]?.limits.maxRequestBody).toBe(1536);
    expect(valid({}, { limits: { maxRequestBody: 4096 } }).services[0]?.limits.maxRequestBody).toBe(4096);
    expect(valid({}, { limits: { maxRequestBody: 0 } }).services[0]?.limits.maxRequestBody).toBe(0);
  });

  it("refuses a bad size with the field's path and a message that says what was expected", () => {
    const cases: Array<[unknown, string]> = [
      ['10 megabytes', 'expected a size like "512kb", "10mb", "1gb", got "10 megabytes"'],
      ['-1kb', 'expected a size like "512kb", "10mb", "1gb", got "-1kb"'],
      [1.5, 'expected a whole number of bytes ≥ 0'],
      [-1, 'expected a whole number of bytes ≥ 0'],
    ];
    for (const [value, message] of cases) {
      expect(
        problemAt(problems({}, { limits: { maxRequestBody: value } }), 'services[0].limits.maxRequestBody').message,
        JSON.stringify(value),
      ).toBe(message);
    }
    expect(
      problemAt(problems({}, { limits: { maxRequestBody: true } }), 'services[0].limits.maxRequestBody').message,
    ).toMatch(/^expected /);
  });

  it('refuses an unknown limit by name', () => {
    const p = problemAt(problems({}, { limits: { maxBody: '1mb' } }), 'services[0].limits.maxBody');
    expect(p.message).toContain('unknown key');
    expect(p.message).toContain('maxRequestBody');
  });

  it('reads from YAML, and from an environment variable as a size or a number', () => {
    const yaml = (v: string) =>
      `services:\n  - name: web\n    stable: { targets: ["10.0.0.1:80"] }\n    limits:\n      maxRequestBody: ${v}\n`;
    const read = (v: string, env: Record<string, string> = {}) => {
      const r = parseConfigText(yaml(v), env);
      if (!r.ok) throw new Error(r.error.message);
      return r.value.services[0]?.limits.maxRequestBody;
    };
    expect(read('10mb')).toBe(10 * 1024 * 1024);
    expect(read('4096')).toBe(4096);
    expect(read('${MAX_BODY}', { MAX_BODY: '2mb' })).toBe(2 * 1024 * 1024);
    expect(read('${MAX_BODY}', { MAX_BODY: '4096' })).toBe(4096);
    expect(read('${MAX_BODY:-1kb}')).toBe(1024);
  });
});

describe('services[].timeouts', () => {
  it('are all absent by default: the service uses proxy.timeouts', () => {
    expect(valid().services[0]?.timeouts).toEqual({
      connect: undefined,
      header: undefined,
      body: undefined,
      upstreamIdle: undefined,
    });
  });

  it('take connect, header, body and upstreamIdle as durations', () => {
    const t = valid({}, { timeouts: { connect: '300ms', header: '2s', body: '1m', upstreamIdle: 1500 } }).services[0]
      ?.timeouts;
    expect(t).toEqual({ connect: 300, header: 2000, body: 60_000, upstreamIdle: 1500 });
  });

  it('refuses a zero or malformed duration', () => {
    expect(problemAt(problems({}, { timeouts: { connect: '0ms' } }), 'services[0].timeouts.connect').message).toBe(
      'must be a positive duration',
    );
    expect(problemAt(problems({}, { timeouts: { header: 0 } }), 'services[0].timeouts.header').message).toBe(
      'must be a positive duration',
    );
    expect(problemAt(problems({}, { timeouts: { body: 'soon' } }), 'services[0].timeouts.body').message).toBe(
      'expected a duration like "500ms", "30s", "2m", got "soon"',
    );
  });

  it("refuses the listener's own timeouts, pointing to proxy.timeouts", () => {
    for (const key of ['shutdown', 'clientKeepAlive', 'clientHeader', 'clientRequest']) {
      const p = problemAt(problems({}, { timeouts: { [key]: '5s' } }), `services[0].timeouts.${key}`);
      expect(p.message).toBe(
        `applies to the whole listener, before a request is routed: set proxy.timeouts.${key} instead`,
      );
    }
    // Whatever the value: the key itself is the mistake.
    expect(
      problemAt(problems({}, { timeouts: { shutdown: 'nonsense' } }), 'services[0].timeouts.shutdown').message,
    ).toContain('proxy.timeouts.shutdown');
    // …and every such key is reported in one pass.
    const all = problems({}, { timeouts: { shutdown: '5s', clientHeader: '1s', connect: '1s' } });
    expect(all.map((p) => p.path).sort()).toEqual([
      'services[0].timeouts.clientHeader',
      'services[0].timeouts.shutdown',
    ]);
  });

  it('refuses a clientHeader longer than clientRequest (Node would refuse it at start, unnamed)', () => {
    const p = problemAt(problems({ timeouts: { clientRequest: '10s' } }), 'proxy.timeouts.clientHeader');
    expect(p.message).toBe('must not be longer than clientRequest (10000 ms), which bounds the whole request');
    expect(valid({ timeouts: { clientRequest: '10s', clientHeader: '10s' } }).proxy.timeouts.clientHeader).toBe(10_000);
    expect(valid({ timeouts: { clientRequest: 0, clientHeader: '1m' } }).proxy.timeouts.clientRequest).toBe(0);
  });

  it('refuses an unknown key by name', () => {
    const p = problemAt(problems({}, { timeouts: { idle: '1s' } }), 'services[0].timeouts.idle');
    expect(p.message).toContain('unknown key');
  });

  it('do not change proxy.timeouts', () => {
    const c = valid({ timeouts: { header: '10s' } }, { timeouts: { header: '1s' } });
    expect(c.proxy.timeouts.header).toBe(10_000);
    expect(c.services[0]?.timeouts.header).toBe(1000);
  });
});

describe('proxy.maxHeaders', () => {
  it('is 100 by default', () => {
    expect(valid().proxy.maxHeaders).toBe(100);
  });

  it('takes a whole number from 1 to 10000', () => {
    for (const n of [1, 50, 100, 101, 10_000]) expect(valid({ maxHeaders: n }).proxy.maxHeaders).toBe(n);
  });

  it('refuses 0, negatives, fractions, more than 10000 and strings', () => {
    const cases: Array<[unknown, string]> = [
      [0, 'must be ≥ 1'],
      [-5, 'must be ≥ 1'],
      [10_001, 'must be ≤ 10000'],
      [1.5, 'expected an integer, got 1.5'],
      ['100', 'expected a number, got "100"'],
    ];
    for (const [value, message] of cases)
      expect(problemAt(problems({ maxHeaders: value }), 'proxy.maxHeaders').message, JSON.stringify(value)).toBe(
        message,
      );
  });
});

describe('proxy.overrideHeader and proxy.overrideFrom', () => {
  it('the override is off by default, and honoured from loopback only once it is on', () => {
    const c = valid();
    expect(c.proxy.overrideHeader).toBe(false);
    expect(c.proxy.overrideFrom).toEqual(['127.0.0.0/8', '::1']);
  });

  it('overrideHeader takes a header name or false', () => {
    expect(valid({ overrideHeader: 'x-veer-pool' }).proxy.overrideHeader).toBe('x-veer-pool');
    expect(valid({ overrideHeader: 'X-Veer-Pool' }).proxy.overrideHeader).toBe('X-Veer-Pool');
    expect(valid({ overrideHeader: false }).proxy.overrideHeader).toBe(false);
  });

  it('overrideHeader refuses true, an empty name and names that are not tokens', () => {
    expect(problemAt(problems({ overrideHeader: true }), 'proxy.overrideHeader').message).toBe(
      'expected a string or false, got true',
    );
    for (const name of ['', 'x veer', 'x-veer:', 'x/veer', 'ü']) {
      expect(problemAt(problems({ overrideHeader: name }), 'proxy.overrideHeader').message, JSON.stringify(name)).toBe(
        'must be a valid header name',
      );
    }
  });

  it('overrideFrom takes IPv4 and IPv6 addresses and CIDR blocks', () => {
    const list = [
      '10.0.0.0/8',
      '192.168.1.7',
      '0.0.0.0/0',
      '127.0.0.1/32',
      '::1',
      '2001:db8::/32',
      '::/0',
      'fe80::1/128',
      '::ffff:10.0.0.0/104',
    ];
    expect(valid({ overrideFrom: list }).proxy.overrideFrom).toEqual(list);
    expect(valid({ overrideFrom: [] }).proxy.overrideFrom).toEqual([]);
  });

  it('overrideFrom refuses anything else, entry by entry', () => {
    const bad = [
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/-1',
      '10.0.0.0/8/8',
      '10.0.0/8',
      '10.0.0.256',
      'localhost',
      '',
      '10.0.0.0/ 8',
      '10.0.0.0/8 ',
      '10.0.0.0/0x8',
      '*',
    ];
    const all = problems({ overrideFrom: ['127.0.0.1', ...bad] });
    expect(all.map((p) => p.path)).toEqual(bad.map((_, i) => `proxy.overrideFrom[${i + 1}]`));
    for (const p of all) expect(p.message).toBe('expected an IP address or a CIDR block such as "10.0.0.0/8"');
    expect(problemAt(problems({ overrideFrom: '10.0.0.0/8' }), 'proxy.overrideFrom').message).toBe(
      'expected a list, got "10.0.0.0/8"',
    );
  });
});

describe('proxy.front', () => {
  it("is veer's own front unless node:http's is asked for", () => {
    expect(valid().proxy.front).toBe('lean');
    expect(valid({ front: 'node' }).proxy.front).toBe('node');
  });

  it('refuses another front with the field and the two it takes', () => {
    expect(problemAt(problems({ front: 'nginx' }), 'proxy.front').message).toBe(
      'expected "node" or "lean", got "nginx"',
    );
  });
});
