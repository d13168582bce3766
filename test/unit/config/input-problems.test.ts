// Messages built for every schema: an object that takes no keys says so instead of an empty list, and
// kindOf names what was given without repeating it.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { kindOf, validateWith } from '../../../src/config/problems.js';

describe('unknown keys', () => {
  it('an object that takes no keys says so, not "expected one of: "', () => {
    const r = validateWith(z.object({}).strict(), { reason: 'x', full: true });
    expect(r).toEqual({
      ok: false,
      error: [
        { path: 'reason', message: 'unknown key (this request takes no fields)' },
        { path: 'full', message: 'unknown key (this request takes no fields)' },
      ],
    });
  });

  it('an object with keys still lists them', () => {
    const r = validateWith(z.object({ full: z.boolean().optional() }).strict(), { x: 1 });
    expect(r).toEqual({ ok: false, error: [{ path: 'x', message: 'unknown key (expected one of: full)' }] });
  });
});

describe('kindOf', () => {
  it.each([
    ['true', 'a string'],
    [1, 'a number'],
    [null, 'null'],
    [undefined, 'nothing'],
    [[true], 'a list'],
    [{ on: true }, 'a mapping'],
    [false, 'a boolean'],
  ])('%j is %s', (v, kind) => {
    expect(kindOf(v)).toBe(kind);
  });
});
