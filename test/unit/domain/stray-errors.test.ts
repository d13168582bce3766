import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { LogFields, LogLevel } from '../../../src/domain/log.js';
import { guardStrayErrors } from '../../../src/domain/stray-errors.js';

function rig(opts: { linesPerWindow?: number; windowMs?: number } = {}) {
  const proc = new EventEmitter();
  const lines: { level: LogLevel; msg: string; fields?: LogFields }[] = [];
  const exits: number[] = [];
  let now = 0;
  guardStrayErrors(proc, {
    log: { log: (level, msg, fields) => lines.push({ level, msg, fields }) },
    now: () => now,
    exit: (code) => exits.push(code),
    ...opts,
  });
  return { proc, lines, exits, advance: (ms: number) => (now += ms) };
}

describe('guardStrayErrors', () => {
  it('logs an unhandled rejection with its message and stack, and does not exit', () => {
    const r = rig();
    r.proc.emit('unhandledRejection', new Error('lost write'));
    expect(r.exits).toEqual([]);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]?.level).toBe('error');
    expect(r.lines[0]?.fields?.error).toBe('lost write');
    expect(String(r.lines[0]?.fields?.stack)).toContain('stray-errors.test.ts');
  });

  it('describes a rejection that is not an Error: a string, an object, one JSON cannot print', () => {
    const r = rig();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    r.proc.emit('unhandledRejection', 'plain text');
    r.proc.emit('unhandledRejection', { code: 'E1' });
    r.proc.emit('unhandledRejection', cyclic);
    r.proc.emit('unhandledRejection', undefined);
    expect(r.lines.map((l) => l.fields?.error)).toEqual([
      'plain text',
      '{"code":"E1"}',
      '[object Object]',
      'undefined',
    ]);
    expect(r.lines.every((l) => l.fields?.stack === null)).toBe(true);
  });

  it('bounds the lines per window and says how many it left out when the next window opens', () => {
    const r = rig({ linesPerWindow: 3, windowMs: 1_000 });
    for (let i = 0; i < 50; i++) r.proc.emit('unhandledRejection', new Error(`e${i}`));
    expect(r.lines).toHaveLength(3);
    r.advance(999);
    r.proc.emit('unhandledRejection', new Error('still the same window'));
    expect(r.lines).toHaveLength(3);
    r.advance(1);
    r.proc.emit('unhandledRejection', new Error('next window'));
    expect(r.lines.slice(3).map((l) => [l.msg, l.fields?.count ?? l.fields?.error])).toEqual([
      ['unhandled promise rejections not logged', 48],
      ['unhandled promise rejection (a bug; veer keeps serving)', 'next window'],
    ]);
  });

  it('logs an uncaught exception as a line, then exits with 1', () => {
    const r = rig();
    r.proc.emit('uncaughtException', new TypeError('x is undefined'));
    expect(r.exits).toEqual([1]);
    expect(r.lines[0]?.msg).toBe('uncaught exception: exiting');
    expect(r.lines[0]?.fields?.error).toBe('x is undefined');
  });
});
