// veer's standard output redirected to a file (a shell's `>>`, systemd's `StandardOutput=append:`): the access
// lines go there on the descriptor veer was given, after what the file held, each line whole, one process
// or two workers sharing the descriptor. (Node would write such a file synchronously on the event loop;
// veer writes it from the thread pool: line-output.ts standardOutput.)
import { readFile, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { accessLogFile } from '../../helpers/access-lines.js';
import { startVeerChild } from '../../helpers/veer-child.js';
import { allAcked, WORKERS_READY_MS, WORKERS_TEST_MS } from '../../helpers/workers.js';
import { http, service, useHarness, waitFor } from '../../helpers/veer.js';

const h = useHarness();

describe('access log on a standard output that is a file', { timeout: WORKERS_TEST_MS }, () => {
  it.each([1, 2])("workers: %i — every line whole, after the file's old content", async (workers) => {
    const up = await h.upstream('web-upstream', { body: 'x' });
    const file = accessLogFile(h);
    await writeFile(file, 'before\n');
    // The shell opens the file for appending and hands it to veer as its standard output.
    const wrapper = ['sh', '-c', 'exec "$@" >> "$0"', file];
    const config = {
      workers,
      services: [service('web', [up.address])],
      accessLog: { enabled: true, output: 'stdout' },
    };
    const v = await startVeerChild(h, config, WORKERS_READY_MS, [], wrapper);
    // One worker is the process itself (no cluster); two are worker processes that must be listening.
    if (workers > 1) await allAcked(v, workers, `${workers} workers to listen`);
    const N = 240;
    const long = 'p'.repeat(300);
    // Fresh connections, six at a time: with two workers both write lines.
    const send = async (k: number): Promise<void> => {
      for (let i = 0; i < N / 6; i++) expect((await http(`${v.dataUrl}/${long}?c=${k}`)).status).toBe(200);
    };
    await Promise.all(Array.from({ length: 6 }, (_, k) => send(k)));
    const lines = async (): Promise<string[]> => (await readFile(file, 'utf8')).split('\n');
    const access = async (): Promise<string[]> => (await lines()).filter((l) => l.includes(long));
    await waitFor(async () => (await access()).length >= N, { what: `${N} access lines`, timeoutMs: 10_000 });
    expect((await lines())[0]).toBe('before');
    const parsed = (await access()).map((l) => JSON.parse(l) as { kind: string; requestId: string; status: number });
    expect(parsed).toHaveLength(N);
    expect(parsed.every((l) => l.kind === 'access' && l.status === 200)).toBe(true);
    expect(new Set(parsed.map((l) => l.requestId)).size).toBe(N);
  });
});
