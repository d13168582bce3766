import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import {
  interpolateDocument,
  interpolateScalar,
  interpolateValue,
  readScalar,
  substitute,
} from '../../../src/config/interpolate.js';

describe('substitute', () => {
  const env = { HOST: 'db.local', PORT: '5432', EMPTY: '' };

  it('replaces set variables anywhere in the text', () => {
    expect(substitute('redis://${HOST}:${PORT}/0', env)).toEqual({ text: 'redis://db.local:5432/0', messages: [] });
  });

  it('reports an unset variable without default and substitutes ""', () => {
    expect(substitute('a-${NOPE}-b', env)).toEqual({
      text: 'a--b',
      messages: ['environment variable NOPE is not set'],
    });
  });

  it('keeps an empty variable without default as empty (set is set)', () => {
    expect(substitute('[${EMPTY}]', env)).toEqual({ text: '[]', messages: [] });
  });

  it('uses the default when the variable is unset or empty, like the shell', () => {
    expect(substitute('${NOPE:-fallback}', env).text).toBe('fallback');
    expect(substitute('${EMPTY:-fallback}', env).text).toBe('fallback');
    expect(substitute('${HOST:-fallback}', env).text).toBe('db.local');
    expect(substitute('${NOPE:-}', env)).toEqual({ text: '', messages: [] });
    expect(substitute('${NOPE:-a b: c, d}', env).text).toBe('a b: c, d');
  });

  it('turns $${ into a literal ${ without interpolating what follows', () => {
    expect(substitute('$${HOST} and ${HOST}', env)).toEqual({ text: '${HOST} and db.local', messages: [] });
  });

  it('leaves a lone $ alone', () => {
    expect(substitute('cost: $5 $HOST', env).text).toBe('cost: $5 $HOST');
  });

  it('reports invalid and unterminated expressions', () => {
    expect(substitute('${1BAD}', env).messages).toEqual([
      'invalid expression "${1BAD}": expected ${NAME} or ${NAME:-default}',
    ]);
    expect(substitute('${X:?err}', env).messages[0]).toContain('invalid expression');
    expect(substitute('x${HOST', env).messages[0]).toContain('unterminated');
  });

  it('reads a default holding expressions, as Compose does (it was cut at the first brace)', () => {
    expect(substitute('${NOPE:-${HOST}}', env)).toEqual({ text: 'db.local', messages: [] });
    expect(substitute('${PORT:-${HOST}}', env)).toEqual({ text: '5432', messages: [] });
    expect(substitute('${NOPE:-${EMPTY:-x-${PORT}}}/y', env)).toEqual({ text: 'x-5432/y', messages: [] });
    expect(substitute('${NOPE:-a$${b}c}', env)).toEqual({ text: 'a${bc}', messages: [] });
    // A default's problems count only when it is used.
    expect(substitute('${HOST:-${UNSET}}', env)).toEqual({ text: 'db.local', messages: [] });
    expect(substitute('${NOPE:-${UNSET}}', env)).toEqual({
      text: '',
      messages: ['environment variable UNSET is not set'],
    });
    expect(substitute('${NOPE:-${HOST}', env).messages).toEqual(['unterminated "${" (write "$${" for a literal "${")']);
    const deep = `${'${NOPE:-'.repeat(11)}x${'}'.repeat(11)}`;
    expect(substitute(deep, env).messages).toEqual(['defaults nested more than 10 deep']);
    expect(substitute(`${'${NOPE:-'.repeat(10)}x${'}'.repeat(10)}`, env)).toEqual({ text: 'x', messages: [] });
    expect(interpolateScalar('${NOPE:-${PORT}}', env, true)).toEqual({ ok: true, value: 5432 });
    expect(interpolateScalar('${NOPE:-${PORT}}}', env, true)).toEqual({ ok: true, value: '5432}' });
  });

  it('lists every unset variable of one value', () => {
    expect(substitute('${A}${B}', {}).messages).toEqual([
      'environment variable A is not set',
      'environment variable B is not set',
    ]);
  });
});

describe('readScalar / interpolateScalar', () => {
  it('reads numbers, booleans and null like YAML core', () => {
    expect(readScalar('200')).toBe(200);
    expect(readScalar('0.25')).toBe(0.25);
    expect(readScalar('true')).toBe(true);
    expect(readScalar('false')).toBe(false);
    expect(readScalar('null')).toBeNull();
  });

  it('keeps text that is not a lone plain scalar as text', () => {
    for (const s of ['', '  ', 'abc', '#secret', 'a: b', '- x', '[1]', '"q"', '12 # c', 'yes'])
      expect(readScalar(s)).toBe(s);
  });

  it('re-reads only when the scalar is one whole expression and reread is asked for', () => {
    const env = { MIN: '50', S: 'true' };
    expect(interpolateScalar('${MIN}', env, true)).toEqual({ ok: true, value: 50 });
    expect(interpolateScalar('${S}', env, true)).toEqual({ ok: true, value: true });
    expect(interpolateScalar('${MIN}', env, false)).toEqual({ ok: true, value: '50' });
    expect(interpolateScalar('${MIN}0', env, true)).toEqual({ ok: true, value: '500' });
    expect(interpolateScalar('${MIN:-7}', {}, true)).toEqual({ ok: true, value: 7 });
    expect(interpolateScalar('$${MIN}', env, true)).toEqual({ ok: true, value: '${MIN}' });
  });
});

describe('interpolateValue (plain trees)', () => {
  it('walks nested objects and arrays, reporting paths', () => {
    const tree = { a: { list: [['${X}', 'lit'], { deep: '${MISSING}' }] }, n: 3, b: null };
    const r = interpolateValue(tree, { X: '42' });
    expect(r.value).toEqual({ a: { list: [[42, 'lit'], { deep: '' }] }, n: 3, b: null });
    expect(r.problems).toEqual([{ path: 'a.list[1].deep', message: 'environment variable MISSING is not set' }]);
  });

  it('does not mutate its input', () => {
    const tree = { a: ['${X}'] };
    interpolateValue(tree, { X: '1' });
    expect(tree).toEqual({ a: ['${X}'] });
  });
});

describe('interpolateDocument (YAML nodes)', () => {
  const run = (text: string, env: Record<string, string>) => {
    const doc = parseDocument(text);
    const problems = interpolateDocument(doc, env);
    return { value: doc.toJS() as unknown, problems };
  };

  it('re-reads plain scalars but keeps quoted and block scalars as strings', () => {
    const r = run('plain: ${N}\nsingle: \'${N}\'\ndouble: "${N}"\nblock: |\n  ${N}\ntagged: !!str ${N}\n', { N: '8' });
    expect(r.value).toEqual({ plain: 8, single: '8', double: '8', block: '8\n', tagged: '8' });
  });

  it('interpolates inside nested sequences and reports each unset variable at its path', () => {
    const r = run('admin:\n  token: ${VEER_X}\nlists:\n  - - ${A}\n    - ${B}\n', { A: 'x' });
    expect(r.value).toEqual({ admin: { token: '' }, lists: [['x', '']] });
    expect(r.problems).toEqual([
      { path: 'admin.token', message: 'environment variable VEER_X is not set' },
      { path: 'lists[0][1]', message: 'environment variable B is not set' },
    ]);
  });

  it('cannot be broken by quotes or YAML syntax inside a value', () => {
    const r = run('a: ${V}\n', { V: 'x", b: "y' });
    expect(r.value).toEqual({ a: 'x", b: "y' });
  });

  it('does not interpolate keys', () => {
    expect(run('${K}: v\n', { K: 'k' }).value).toEqual({ '${K}': 'v' });
  });

  it('propagates into aliases from the anchored value', () => {
    expect(run('a: &x ${V}\nb: *x\n', { V: 'hi' }).value).toEqual({ a: 'hi', b: 'hi' });
  });
});
