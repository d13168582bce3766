// What a client that left (or was cut) leaves behind in a test veer: the access lines of answers not given whole,
// veer's client_closed count, and the pool's counts (a client's leaving must not move them).
import { expect } from 'vitest';
import { waitForLines } from './access-lines.js';
import { countersOf } from './pool-counters.js';
import { http, type TestVeer } from './veer.js';

/** veer_proxy_answers_total{code="client_closed"}. */
export async function clientClosed(v: TestVeer): Promise<number> {
  const m = await http(`${v.adminUrl}/metrics`);
  const line = /veer_proxy_answers_total\{[^}]*code="client_closed"[^}]*\} (\d+)/.exec(m.text);
  return Number(line?.[1] ?? 0);
}

/**
 * An answer is owed to a client that reads nothing, or was already cut for it. `inFlight > 0` alone is a window
 * as long as the stall bound (1 s in these tests), which a loaded machine's poll can miss; the cut's count stays.
 */
export async function owedOrCut(v: TestVeer): Promise<boolean> {
  return v.plane.inFlight > 0 || (await clientClosed(v)) > 0;
}

/**
 * The access lines not given whole, veer's client_closed count and the pool's counts; `upstreamDone`: the answers
 * the pool counted as the upstream's beyond those given whole.
 */
export async function leftTraces(v: TestVeer, log: string) {
  expect(await v.plane.accessLog.flushed()).toBe(true);
  const lines = await waitForLines(log, 1);
  const notWhole = lines.filter((l) => l.error !== null);
  const c = await countersOf(v);
  return {
    notWhole: notWhole.map((l) => ({ status: l.status, error: l.error })),
    clientClosed: await clientClosed(v),
    upstreamDone: c.stable.requests - (lines.length - notWhole.length),
    pool: { errors: c.stable.errors, failing: c.failing, ejected: c.ejected },
  };
}
