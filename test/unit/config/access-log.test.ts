// The `accessLog` section and `proxy.requestIdHeader` as `veer validate` reads them: defaults, and a
// clear problem naming the field for each bad value.
import { describe, expect, it } from 'vitest';
import { accessLogProblems } from '../../../src/config/access-log-check.js';
import { parseConfigObject } from '../../../src/config/load.js';

const parse = (obj: Record<string, unknown>) => parseConfigObject({ state: { store: 'memory' }, ...obj }, {});

function problems(obj: Record<string, unknown>): string[] {
  const r = parse(obj);
  if (r.ok) throw new Error('expected the config to be refused');
  return r.error.problems.map((p) => `${p.path}: ${p.message}`);
}

describe('accessLog and requestIdHeader', () => {
  it('default: access lines on, to stdout, all of them; ids in x-request-id', () => {
    const r = parse({});
    expect(r.ok && r.value.accessLog).toEqual({ enabled: true, output: 'stdout', sample: 1, flushInterval: 50 });
    expect(r.ok && r.value.proxy.requestIdHeader).toBe('x-request-id');
  });

  it('accepts a file, a sample, the off switches', () => {
    const r = parse({
      accessLog: { output: '/tmp/veer-access.log', sample: 0.1, flushInterval: '0s' },
      proxy: { requestIdHeader: false },
    });
    expect(r.ok && r.value.accessLog).toEqual({
      enabled: true,
      output: '/tmp/veer-access.log',
      sample: 0.1,
      flushInterval: 0,
    });
    expect(r.ok && r.value.proxy.requestIdHeader).toBe(false);
  });

  it('names the field of each bad value', () => {
    expect(problems({ accessLog: { sample: 1.5 } })).toEqual(['accessLog.sample: expected a share in [0, 1]']);
    expect(problems({ accessLog: { output: '' } })[0]).toMatch(/^accessLog\.output: expected "stdout"/);
    expect(problems({ accessLog: { flushInterval: '1m' } })[0]).toMatch(/^accessLog\.flushInterval: .*10s/);
    expect(problems({ accessLog: { flushInterval: 'soon' } })[0]).toMatch(/^accessLog\.flushInterval: .*duration/);
    expect(problems({ accessLog: { format: 'text' } })[0]).toMatch(/^accessLog/);
    expect(problems({ proxy: { requestIdHeader: 'Host' } })[0]).toMatch(/^proxy\.requestIdHeader: .*veer routes by/);
    expect(problems({ proxy: { requestIdHeader: 'a b' } })[0]).toMatch(/^proxy\.requestIdHeader: .*header name/);
  });

  it('refuses as the request id a field veer uses (it would replace it both ways), naming it', () => {
    for (const name of ['Content-Type', 'te', 'Expect', 'grpc-timeout', 'Strict-Transport-Security']) {
      expect(problems({ proxy: { requestIdHeader: name } }), name).toEqual([
        `proxy.requestIdHeader: "${name}" is a header veer routes by, reads or writes itself: expected another name`,
      ]);
    }
  });

  it('refuses the override header as the request id (a trusted id would pick the pool), in any case', () => {
    expect(problems({ proxy: { requestIdHeader: 'X-Veer-Pool', overrideHeader: 'x-veer-pool' } })).toEqual([
      'proxy.requestIdHeader: "X-Veer-Pool" is also proxy.overrideHeader: expected a name of its own',
    ]);
    const apart = parse({ proxy: { requestIdHeader: 'x-request-id', overrideHeader: 'x-veer-pool' } });
    expect(apart.ok).toBe(true);
    expect(parse({ proxy: { requestIdHeader: false, overrideHeader: 'x-request-id' } }).ok).toBe(true);
  });

  it('a file output needs an existing directory (checked by validate and start)', () => {
    expect(accessLogProblems({ accessLog: { output: '/no/such/dir/access.log' } })).toEqual([
      { path: 'accessLog.output', message: 'the directory /no/such/dir does not exist' },
    ]);
    expect(accessLogProblems({ accessLog: { output: '/tmp/access.log' } })).toEqual([]);
    expect(accessLogProblems({ accessLog: { output: 'stdout' } })).toEqual([]);
    expect(accessLogProblems({ accessLog: { enabled: false, output: '/no/such/dir/a.log' } })).toEqual([]);
  });
});
