// enableCompileCache with a stand-in for node:module: Node 20 (no API), a call that throws, a call made.
import { describe, expect, it } from 'vitest';
import { enableCompileCache } from '../../src/compile-cache.js';

describe('enableCompileCache', () => {
  it('does nothing where Node has no compile cache (Node 20)', () => {
    expect(enableCompileCache({})).toBe(false);
  });

  it('turns it on once where Node has it', () => {
    let calls = 0;
    expect(enableCompileCache({ enableCompileCache: () => void calls++ })).toBe(true);
    expect(calls).toBe(1);
  });

  it('never lets a failure stop the start', () => {
    const throwing = {
      enableCompileCache: () => {
        throw new Error('EROFS');
      },
    };
    expect(enableCompileCache(throwing)).toBe(false);
  });
});
