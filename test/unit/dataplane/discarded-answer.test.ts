import { describe, expect, it } from 'vitest';
import { DiscardedAnswer } from '../../../src/dataplane/discarded-answer.js';
import type { Downstream } from '../../../src/dataplane/downstream.js';

// What the answer writes to the client's side, recorded (the Downstream port: head, body chunks, end).
function recorder(headOk = true) {
  const out: { head: unknown[] | null; body: string; ended: boolean } = { head: null, body: '', ended: false };
  const down = {
    writeHead: (...head: unknown[]) => ((out.head = head), headOk),
    write: (c: Buffer) => ((out.body += c.toString()), true),
    end: () => ((out.ended = true), true),
  } as unknown as Downstream;
  return { out, down };
}

describe('DiscardedAnswer', () => {
  it('sends the swallowed answer whole: head, every chunk, end', () => {
    const a = new DiscardedAnswer(503, 'Service Unavailable', [['x-upstream', 'c']] as never);
    expect(a.keep(Buffer.from('canary'))).toBe(true);
    a.keep(Buffer.from(' broke'));
    const { out, down } = recorder();
    expect(a.send(down)).toBe(true);
    expect(out).toEqual({
      head: [503, 'Service Unavailable', [['x-upstream', 'c']]],
      body: 'canary broke',
      ended: true,
    });
  });

  it('keeps nothing past 64 KiB, and then sends nothing (veer answers 502)', () => {
    const a = new DiscardedAnswer(500, '', []);
    a.keep(Buffer.alloc(64 * 1024));
    const fits = recorder();
    expect(a.send(fits.down)).toBe(true);
    const b = new DiscardedAnswer(500, '', []);
    expect(b.keep(Buffer.alloc(64 * 1024))).toBe(true);
    expect(b.keep(Buffer.alloc(1))).toBe(false); // outgrown: the exchange stops reading it and asks stable now
    const { out, down } = recorder();
    expect(b.send(down)).toBe(false);
    expect(out.head).toBeNull();
  });

  it('says so when its head cannot be sent', () => {
    const a = new DiscardedAnswer(502, '', []);
    const { out, down } = recorder(false);
    expect(a.send(down)).toBe(false);
    expect(out.ended).toBe(false);
  });
});
