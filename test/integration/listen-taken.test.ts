// `veer start` on a port another process holds: it exits non-zero, saying which listener field could not
// bind (the engine's "listen EADDRINUSE" alone did not say whether it was listen or admin.listen).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runVeer } from '../helpers/cli.js';

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await Promise.allSettled(cleanups.splice(0).map((c) => c()));
});

async function held(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as net.AddressInfo).port;
}

async function start(config: string) {
  const dir = await mkdtemp(join(tmpdir(), 'veer-listen-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'veer.yaml');
  await writeFile(file, `${config}state: { store: memory }\nservices: []\n`);
  return runVeer(['start', '-c', file]);
}

describe('veer start on a port that is taken', () => {
  it('names the listener field that could not bind', async () => {
    const port = await held();
    const data = await start(`listen: 127.0.0.1:${port}\nadmin: { listen: 127.0.0.1:0 }\n`);
    expect(data.code).not.toBe(0);
    expect(data.stderr).toMatch(new RegExp(`listen: listen EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
    const admin = await start(`listen: 127.0.0.1:0\nadmin: { listen: 127.0.0.1:${port} }\n`);
    expect(admin.code).not.toBe(0);
    expect(admin.stderr).toMatch(new RegExp(`admin\\.listen: listen EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
  });
});
