import { describe, expect, it } from 'vitest';
import { checkFileLength, checkFunctions, checkLineWidth } from '../../scripts/limits.mjs';

/** A function declaration spanning exactly `lines` lines, starting on line 1. */
function fnOf(lines: number): string {
  const body = Array.from({ length: lines - 2 }, (_, i) => `  const v${i} = ${i};`);
  return ['function sample(): void {', ...body, '}', ''].join('\n');
}

describe('limits', () => {
  it('reports a 61-line function at its first line', () => {
    const found = checkFunctions('src/x.ts', fnOf(61));
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ path: 'src/x.ts', line: 1, rule: 'function' });
    expect(found[0]?.message).toContain("'sample' is 61 lines");
  });

  it('accepts a 60-line function', () => {
    expect(checkFunctions('src/x.ts', fnOf(60))).toEqual([]);
  });

  it('measures an arrow function from its start to its closing brace', () => {
    const body = Array.from({ length: 60 }, (_, i) => `  void ${i};`);
    const text = ['// header', 'export const handler = async (n: number) => {', ...body, '};', ''].join('\n');
    const found = checkFunctions('src/x.ts', text);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ line: 2 });
    expect(found[0]?.message).toContain("'handler' is 62 lines");
  });

  it('counts a nested function on its own and inside its parent', () => {
    const inner = Array.from({ length: 61 }, (_, i) => `    void ${i};`);
    const text = ['class A {', '  run() {', '    return () => {', ...inner, '    };', '  }', '}', ''].join('\n');
    const found = checkFunctions('src/x.ts', text);
    expect(found.map((v) => v.line)).toEqual([2, 3]);
  });

  it('reports a 121-character line and accepts a 120-character one', () => {
    const text = ['x'.repeat(120), 'y'.repeat(121), ''].join('\n');
    const found = checkLineWidth('test/x.ts', text);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ path: 'test/x.ts', line: 2, rule: 'line' });
  });

  it('reports a file over 250 lines', () => {
    expect(checkFileLength('src/x.ts', 'a\n'.repeat(250))).toEqual([]);
    expect(checkFileLength('src/x.ts', 'a\n'.repeat(251))).toHaveLength(1);
  });
});
