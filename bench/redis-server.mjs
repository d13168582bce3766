// A private redis-server for a bench: a free loopback port, no persistence, its own temporary directory,
// pinned like any other child (procs.mjs stops it by pid).
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HOST, freePort } from './net.mjs';
import { onCleanup, sleep, startChild, stopChild, tail } from './procs.mjs';

function redisPing(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const done = (ok) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => done(d.toString().startsWith('+PONG')));
  });
}

/** { port, url, child } once it answers PING (bounded: 100 tries, 50 ms apart). */
export async function startRedis(cpu) {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'veer-bench-redis-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const child = startChild(
    'redis-server',
    'redis-server',
    ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir],
    { cpu },
  );
  for (let i = 0; i < 100 && !child.exited; i++) {
    if (await redisPing(port)) return { port, url: `redis://${HOST}:${port}`, child };
    await sleep(50);
  }
  await stopChild(child);
  throw new Error(`redis-server did not answer PING\n${tail(child)}`);
}
