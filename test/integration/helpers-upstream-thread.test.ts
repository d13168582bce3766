// The thread upstream (test/helpers/upstream-thread.ts) answers as the in-process one does, counts its
// requests exactly, changes behaviour while it runs, refuses what cannot reach a thread, keeps answering
// while this thread is blocked, and closes (a closed port refuses).
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/process.js';
import { http } from '../helpers/veer.js';
import { startThreadUpstream } from '../helpers/upstream-thread.js';

describe('thread upstream', () => {
  it('answers with its name, its status and its delay, and counts every request', async () => {
    const u = await startThreadUpstream('stable');
    try {
      const first = await http(`http://${u.address}/x`, { timeoutMs: 5_000 });
      expect(first.status).toBe(200);
      expect(first.text).toBe('stable');
      expect(first.headers['x-upstream']).toBe('stable');
      u.behave({ status: 503, delayMs: 150 });
      const started = performance.now();
      const second = await http(`http://${u.address}/y`, { method: 'POST', body: 'abc', timeoutMs: 5_000 });
      expect(second.status).toBe(503);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
      await Promise.all(Array.from({ length: 8 }, () => http(`http://${u.address}/`, { timeoutMs: 5_000 })));
      expect(u.hits).toBe(10);
    } finally {
      await u.close();
    }
  });

  it('refuses a function or a handler, and has no request log', async () => {
    // Fields given as undefined (as a caller passing on its own optional ones does) take the defaults.
    const u = await startThreadUpstream('canary', { body: 'hello', status: undefined, delayMs: undefined });
    try {
      const res = await http(`http://${u.address}/`, { timeoutMs: 5_000 });
      expect([res.status, res.text]).toEqual([200, 'hello']);
      expect(() => u.behave({ status: () => 500 })).toThrow(/runs on a thread: a status function or handler/);
      expect(() => u.behave({ handler: (_q, s) => s.end() })).toThrow(/runs on a thread/);
      expect(() => u.requests).toThrow(/keeps no requests/);
    } finally {
      await u.close();
    }
  });

  it('answers while this thread is blocked, and refuses connections once closed', async () => {
    const u = await startThreadUpstream('busy');
    // A request from a child process (started first, then told to go), while this thread spins: only the
    // upstream's own thread can answer it.
    const { spawn } = await import('node:child_process');
    const script = `console.log('ready'); process.stdin.once('data', () => fetch('http://${u.address}/').then(
      async (r) => console.log(r.status, await r.text()), (e) => console.log('error', e.message)))`;
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    await waitFor(() => out.includes('ready'), { timeoutMs: 20_000, what: 'the child to start' });
    child.stdin.end('go\n');
    const until = performance.now() + 10_000;
    while (u.hits === 0 && performance.now() < until) {
      // Busy on purpose: this thread takes no event until the upstream's thread has counted the request.
    }
    const hitWhileBlocked = u.hits;
    await exited;
    expect(hitWhileBlocked).toBe(1);
    expect(out).toContain('200 busy');
    await u.close();
    await expect(http(`http://${u.address}/`, { timeoutMs: 2_000 })).rejects.toThrow();
  });
});
