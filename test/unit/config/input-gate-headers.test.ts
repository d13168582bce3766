// A gate's headers are sent on veer's own request: a name that is not a token, a value that would
// split the request (CR, LF) or that fetch refuses (NUL, controls), and names veer sets or that frame
// the message are refused when the config or the rollout request is read, not when the gate is asked.
import { describe, expect, it } from 'vitest';
import { gatesSchema } from '../../../src/config/gate-schema.js';
import { parseConfigText } from '../../../src/config/load.js';
import { validateWith } from '../../../src/config/problems.js';

const withHeaders = (headers: Record<string, unknown>) =>
  validateWith(gatesSchema, { beforeTraffic: { url: 'http://127.0.0.1:7000/smoke', headers } });

function problems(headers: Record<string, unknown>): Array<{ path: string; message: string }> {
  const r = withHeaders(headers);
  if (r.ok) throw new Error('expected a refusal');
  return r.error;
}

describe('gate headers', () => {
  it('accepts tokens with visible ASCII, spaces, tabs and Latin-1 values (what fetch sends)', () => {
    const headers = { authorization: 'Bearer t0k', "x-a!#$%&'*+.^_`|~": 'a\tb c é\u00ff', 'X-Empty': '' };
    const r = withHeaders(headers);
    expect(r.ok && r.value.beforeTraffic?.headers).toEqual(headers);
  });

  it.each([
    ['bad header', 'headers["bad header"]'],
    ['', 'headers[""]'],
    ['x:y', 'headers["x:y"]'],
    ['é', 'headers["é"]'],
  ])('refuses the name %j as not a token', (name, path) => {
    expect(problems({ [name]: 'x' })).toEqual([
      {
        path: `beforeTraffic.${path}`,
        message: "is not a valid header name (expected letters, digits and !#$%&'*+-.^_`|~)",
      },
    ]);
  });

  it.each([['a\r\nInjected: 1'], ['a\nb'], ['é\u0000'], ['\u001b[31m'], ['a\u007f']])(
    'refuses control characters in the value %j without repeating it',
    (value) => {
      const p = problems({ 'x-a': value });
      expect(p).toEqual([
        {
          path: 'beforeTraffic.headers["x-a"]',
          message: 'value must not contain control characters (CR, LF, NUL…; tab is allowed)',
        },
      ]);
    },
  );

  it('refuses characters beyond U+00FF, which fetch cannot send', () => {
    expect(problems({ 'x-e': '€' })).toEqual([
      {
        path: 'beforeTraffic.headers["x-e"]',
        message: 'value must contain only characters up to U+00FF (percent-encode other text)',
      },
    ]);
  });

  it.each([
    ['host', "it is set by veer from the gate's URL"],
    ['Host', "it is set by veer from the gate's URL"],
    ['content-length', 'it frames the request and is set by veer'],
    ['Transfer-Encoding', 'it frames the request and is set by veer'],
    ['content-type', 'it is set by veer (the request is JSON)'],
    ['x-veer-replica', 'it is set by veer (the replica asking)'],
    ['expect', 'it is not supported on gate requests'],
    ['connection', 'it is about the connection, which veer manages'],
    ['keep-alive', 'it is about the connection, which veer manages'],
    ['upgrade', 'it is about the connection, which veer manages'],
    ['TE', 'it is about the connection, which veer manages'],
    ['trailer', 'it is about the connection, which veer manages'],
    ['proxy-connection', 'it is about the connection, which veer manages'],
  ])('refuses %s with the reason', (name, reason) => {
    const p = problems({ [name]: '1' });
    expect(p).toHaveLength(1);
    expect(p[0]?.message).toBe(`cannot be set on a gate: ${reason}`);
  });

  it('refuses one name given twice in two spellings', () => {
    expect(problems({ 'X-Key': 'a', 'x-key': 'b' })).toEqual([
      { path: 'beforeTraffic.headers["x-key"]', message: 'is given twice (header names ignore case)' },
    ]);
  });

  it('names every bad header at once', () => {
    expect(problems({ 'bad header': 'x', host: 'evil', 'x-a': 'a\r\nb' }).map((p) => p.path)).toEqual([
      'beforeTraffic.headers["bad header"]',
      'beforeTraffic.headers.host',
      'beforeTraffic.headers["x-a"]',
    ]);
  });

  it('a value that is not a string says so', () => {
    expect(problems({ 'x-n': 1 })).toEqual([
      { path: 'beforeTraffic.headers["x-n"]', message: 'expected a string, got 1' },
    ]);
  });

  it('the config file names the header by its path', () => {
    const text = [
      'listen: 127.0.0.1:8080',
      'state: { store: memory }',
      'services:',
      '  - name: web',
      '    stable: { targets: ["127.0.0.1:9001"] }',
      '    rollout:',
      '      gates:',
      '        beforeTraffic: { url: "http://127.0.0.1:7000/smoke", headers: { "bad header": x } }',
    ].join('\n');
    const r = parseConfigText(text, {});
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.problems).toEqual([
      {
        path: 'services[0].rollout.gates.beforeTraffic.headers["bad header"]',
        message: "is not a valid header name (expected letters, digits and !#$%&'*+-.^_`|~)",
      },
    ]);
  });
});
