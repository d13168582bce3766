import { describe, expect, it } from 'vitest';
import { charsetError, duplicateKey } from '../../../src/api/json-body.js';

describe('duplicateKey', () => {
  it.each([
    ['{"a": 1, "a": 2}', 'a'],
    ['{"a": {"b": 1, "b": 2}}', 'b'],
    ['[{"a": 1}, {"c": [1, {"d": 0, "d": 1}]}]', 'd'],
    ['{"a\\"b": 1, "a\\"b": 2}', 'a"b'],
    ['{"\\u0061": 1, "a" : 2}', 'a'],
    ['{"x": {"a": 1}, "y": 2, "y"\n:3}', 'y'],
  ])('finds the key %s gives twice', (text, key) => {
    expect(duplicateKey(text)).toBe(key);
  });

  it.each([
    '{"a": 1, "b": {"a": 2}}',
    '[{"a": 1}, {"a": 2}]',
    '{"a": "a", "b": ["a", "a"]}',
    '{"a": "\\\\", "b": "{\\"a\\": 1}"}',
    '{"a": {}, "b": [], "c": {"a": [{}]}}',
    '"a"',
    '[]',
  ])('finds none in %s', (text) => {
    expect(duplicateKey(text)).toBeUndefined();
  });
});

describe('charsetError', () => {
  it.each([
    undefined,
    'application/json',
    'application/json; charset=utf-8',
    'application/json;CHARSET="UTF8"',
    'application/json; charset=US-ASCII',
  ])('%s is UTF-8', (type) => {
    expect(charsetError(type)).toBeUndefined();
  });

  it('another charset is a 415; one that is not a plain name is not echoed', () => {
    expect(charsetError('application/json; charset=latin1')?.httpStatus).toBe(415);
    expect(charsetError('application/json; charset=<script>')?.message).toBe(
      'charset (not shown) is not supported: send the JSON body in UTF-8',
    );
  });
});
