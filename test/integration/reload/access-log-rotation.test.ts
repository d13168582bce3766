// The access log of a real `veer start` child: log rotation (the file is renamed, SIGUSR1 reopens it:
// lines before go to the old file, lines after to the new one, none lost or doubled), and a reload that
// turns the log on and off without a restart.
import { existsSync, renameSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { accessLogFile, requestIds, sendRequests, waitForLines } from '../../helpers/access-lines.js';
import { waitFor } from '../../helpers/process.js';
import { startVeerChild } from '../../helpers/veer-child.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

async function linesMetric(adminUrl: string): Promise<number> {
  const m = /^veer_access_log_lines_total (\d+)$/m.exec((await http(`${adminUrl}/metrics`)).text);
  return Number(m?.[1] ?? -1);
}

describe('access log rotation and reload', () => {
  it('SIGUSR1 reopens the file: every line in exactly one of the two files', async () => {
    const up = await h.upstream('stable');
    const file = accessLogFile(h);
    const v = await startVeerChild(h, { services: [service('web', [up.address])], accessLog: { output: file } });
    const first = await sendRequests(v.dataUrl, 5);
    await waitForLines(file, 5);
    renameSync(file, `${file}.1`);
    // Still the open descriptor: these go to the renamed file, as with any logger before its signal.
    const late = await sendRequests(v.dataUrl, 3);
    await waitForLines(`${file}.1`, 8);
    expect(existsSync(file)).toBe(false);
    v.child.kill('SIGUSR1');
    await waitFor(() => existsSync(file), 'the access log to be opened again at its path');
    const after = await sendRequests(v.dataUrl, 7);
    await waitForLines(file, 7);
    await waitFor(async () => (await linesMetric(v.adminUrl)) === 15, 'all 15 lines counted as written');
    expect(requestIds(`${file}.1`)).toEqual([...first, ...late]);
    expect(requestIds(file)).toEqual(after);
  });

  it('a reload turns the access log on and off without a restart', async () => {
    const up = await h.upstream('stable');
    const file = accessLogFile(h);
    const services = [service('web', [up.address])];
    const v = await startVeerChild(h, { services, accessLog: { enabled: false, output: file } });
    const reload = async (accessLog: Record<string, unknown>): Promise<void> => {
      await v.write({ services, accessLog });
      expect((await http(`${v.adminUrl}/v1/reload`, { method: 'POST' })).status).toBe(200);
    };
    await sendRequests(v.dataUrl, 2);
    await reload({ enabled: true, output: file });
    const on = await sendRequests(v.dataUrl, 1);
    await waitForLines(file, 1);
    await reload({ enabled: false, output: file });
    await sendRequests(v.dataUrl, 3);
    await reload({ enabled: true, output: file });
    const again = await sendRequests(v.dataUrl, 1);
    await waitForLines(file, 2);
    // Lines are written in order: the three requests sent while it was off would come before this one.
    expect(requestIds(file)).toEqual([...on, ...again]);
    expect(v.output()).toContain('config reloaded (api)');
  });
});
