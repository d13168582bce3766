// The event stream against an engine (or a proxy in front of one) that accepts the stream and drops
// it at once: veer must back off between reconnects instead of asking every 250 ms forever (each time
// a relist and a warning), and start over at the least backoff only after a stream that stayed up.
// The "engine" is a unix socket this file serves; veer's adapter is the real one.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { dockerOptions } from '../../../src/docker/endpoint.js';
import { DockerEngine } from '../../../src/docker/engine.js';
import { waitFor } from '../../helpers/process.js';

/** Answers every request with an event stream holding one event, then hangs up; `onDrop` runs just before. */
function droppingEngine(file: string, onDrop: (n: number) => void) {
  const arrivals: number[] = [];
  const server = net.createServer((c) => {
    c.on('error', () => undefined);
    c.once('data', () => {
      const n = arrivals.push(performance.now());
      c.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const ev = `${JSON.stringify({ Type: 'container', Action: 'start', Actor: { ID: `c${n}` }, time: n })}\n`;
      c.write(`${ev.length.toString(16)}\r\n${ev}\r\n`);
      setTimeout(() => {
        onDrop(n);
        c.destroy();
      }, 100);
    });
  });
  return {
    arrivals,
    listen: (): Promise<void> => new Promise((r) => server.listen(file, r)),
    close: (): Promise<void> => new Promise((r) => server.close(() => r())),
  };
}

describe('docker event stream against an engine that drops every stream', () => {
  it('backs off between reconnects, and starts over only after a stream that stayed up', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'veer-events-'));
    let now = 0;
    // The fifth stream "stays up" ten seconds by veer's clock before it is dropped.
    const engine = droppingEngine(path.join(dir, 'docker.sock'), (n) => {
      if (n === 5) now += 10_000;
    });
    await engine.listen();
    const o = dockerOptions({ name: 'flaky', host: `unix://${dir}/docker.sock` });
    if (!o.ok) throw new Error(o.message);
    const docker = new DockerEngine('flaky', o.options, o.publishedHost, { clock: { now: () => now } });
    const stop = docker.watch(() => undefined);
    try {
      await waitFor(() => engine.arrivals.length >= 6, { timeoutMs: 20_000, what: 'six event streams' });
      const a = engine.arrivals;
      const gap = (i: number): number => (a[i] as number) - (a[i - 1] as number);
      // Each dropped at 100 ms, then 250, 500, 1000, 2000 ms apart: never 250 ms again and again.
      expect(gap(3)).toBeGreaterThanOrEqual(900);
      expect(gap(4)).toBeGreaterThanOrEqual(1_800);
      // After the stream that stayed up, the least backoff again.
      expect(gap(5)).toBeLessThan(1_000);
    } finally {
      stop();
      docker.close();
      await engine.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
