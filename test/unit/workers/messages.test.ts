// What crosses the process boundary: a malformed message is logged and dropped by the worker (never a
// crash), and a question asked of every worker is answered or bounded, with an exited worker missing.
import { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import type { LogLevel } from '../../../src/domain/log.js';
import type { ToPrimary, ToWorker } from '../../../src/workers/messages.js';
import { Replies } from '../../../src/workers/replies.js';
import { DataWorker } from '../../../src/workers/worker.js';

function worker() {
  const sent: ToPrimary[] = [];
  const logged: Array<[LogLevel, string, unknown]> = [];
  const w = new DataWorker(
    { send: (m, done) => (sent.push(m), done?.()) },
    { clock: { now: () => 0 }, log: { log: (level, msg, fields) => logged.push([level, msg, fields]) } },
  );
  return { w, sent, logged };
}

describe('a worker receiving messages', () => {
  it('logs and drops what is not a message, and goes on', () => {
    const { w, sent, logged } = worker();
    for (const bad of [
      null,
      'start',
      { type: 'start' },
      { type: 'drain', id: -1, ids: [], timeoutMs: 1 },
      { type: 'x' },
    ])
      w.handle(bad);
    expect(logged).toHaveLength(5);
    expect(
      logged.every(([level, msg]) => level === 'warn' && msg === 'malformed message from the primary dropped'),
    ).toBe(true);
    expect(logged[2]?.[2]).toMatchObject({ why: expect.stringContaining('config') });
    // Still answering: a drain before it started has nothing in flight.
    w.handle({ type: 'drain', id: 3, ids: ['127.0.0.1:1'], timeoutMs: 10 });
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        expect(sent).toEqual([{ type: 'drained', id: 3, drained: true, cut: 0, tunnels: 0 }]);
        resolve();
      }),
    );
  });

  it('declines a connection before it started and once closing: unread, for the primary to hand on', async () => {
    const { w, sent } = worker();
    const early = new Socket();
    w.handle({ type: 'conn', id: 7, port: 'data' }, early);
    expect(sent).toEqual([{ type: 'declined', id: 7 }]);
    // Only its own descriptor: the primary still holds the connection.
    expect(early.destroyed).toBe(true);
    const code = w.run();
    w.handle({ type: 'close', graceMs: 10 });
    w.handle({ type: 'conn', id: 8, port: 'tls' }, new Socket());
    // Without its socket, a conn is declined too.
    w.handle({ type: 'conn', id: 9, port: 'data' });
    expect(await code).toBe(0);
    expect(sent.filter((m) => m.type === 'declined' || m.type === 'took')).toEqual([
      { type: 'declined', id: 7 },
      { type: 'declined', id: 8 },
      { type: 'declined', id: 9 },
    ]);
  });

  it('closes once, reporting before it exits with 0', async () => {
    const { w, sent } = worker();
    const code = w.run();
    w.handle({ type: 'close', graceMs: 10 });
    w.handle({ type: 'close', graceMs: 10 });
    expect(await code).toBe(0);
    expect(sent.map((m) => m.type)).toEqual(['hello', 'closed']);
  });
});

describe('Replies', () => {
  const asked = (id: number, out: ToWorker[]) => ({ id, send: (m: ToWorker) => out.push(m) });

  it('resolves once every worker answered', async () => {
    const out: ToWorker[] = [];
    const r = new Replies<string>();
    const p = r.ask([asked(1, out), asked(2, out)], (id) => ({ type: 'drain', id, ids: [], timeoutMs: 0 }), 5_000);
    const id = (out[0] as { id: number }).id;
    r.answer(id, 1, 'one');
    r.answer(id, 1, 'again');
    r.answer(id, 2, 'two');
    expect(await p).toEqual({ answers: ['one', 'two'], missing: 0 });
  });

  it('waits for no worker that exited, and counts one that did not answer in time as missing', async () => {
    const out: ToWorker[] = [];
    const r = new Replies<string>();
    const gone = r.ask([asked(1, out), asked(2, out)], (id) => ({ type: 'reopen', id }) as unknown as ToWorker, 5_000);
    r.gone(2);
    r.answer(1, 1, 'one');
    expect(await gone).toEqual({ answers: ['one'], missing: 0 });
    const late = await r.ask([asked(3, out)], () => ({ type: 'reopen' }), 20);
    expect(late).toEqual({ answers: [], missing: 1 });
  });
});
