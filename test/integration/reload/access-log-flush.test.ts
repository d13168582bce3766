// The access log's flush interval on a real `veer start` child: lines held for it are written at once by a reload
// that shortens it, and by a SIGTERM; none is lost or doubled. (What the interval holds and when is LineSink's unit
// test; here a 10 s interval makes every prompt line below the work of the reload or the shutdown.)
import { describe, expect, it } from 'vitest';
import { accessLogFile, requestIds, sendRequests, waitForLines } from '../../helpers/access-lines.js';
import { exited, withTimeout } from '../../helpers/process.js';
import { startVeerChild } from '../../helpers/veer-child.js';
import { http, service, useHarness } from '../../helpers/veer.js';

const h = useHarness();

/** Well under the 10 s interval: a line found within it was not written by the interval's timer. */
const PROMPT_MS = 5_000;

/** A veer child whose access log (a file) holds lines for 10 s. */
async function holdingVeer() {
  const up = await h.upstream('stable');
  const file = accessLogFile(h);
  const services = [service('web', [up.address])];
  const v = await startVeerChild(h, { services, accessLog: { output: file, flushInterval: '10s' } });
  return { v, file, services };
}

describe('access log flush interval', () => {
  it('a reload to 0s writes the held lines at once, and the next ones at the end of their turn', async () => {
    const { v, file, services } = await holdingVeer();
    const held = await sendRequests(v.dataUrl, 3);
    await v.write({ services, accessLog: { output: file, flushInterval: '0s' } });
    expect((await http(`${v.adminUrl}/v1/reload`, { method: 'POST' })).status).toBe(200);
    await waitForLines(file, 3, PROMPT_MS);
    const next = await sendRequests(v.dataUrl, 2);
    await waitForLines(file, 5, PROMPT_MS);
    expect(requestIds(file)).toEqual([...held, ...next]);
  });

  it('SIGTERM writes the held lines before veer exits', async () => {
    const { v, file } = await holdingVeer();
    const held = await sendRequests(v.dataUrl, 4);
    const gone = exited(v.child);
    v.child.kill('SIGTERM');
    // Under the interval: lines found after this exit were written by the shutdown, not by the interval's timer.
    await withTimeout(gone, 8_000, 'veer to exit after SIGTERM');
    expect(v.child.exitCode).toBe(0);
    expect(requestIds(file)).toEqual(held);
  });
});
