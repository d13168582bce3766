// What the gate tests read of one test veer's rollout (status, events, whether it ended), and the
// short policy they run it under.
import type { ServiceStatus } from '../../../src/api/ports.js';
import { isTerminal, type RolloutEvent } from '../../../src/domain/rollout.js';
import { admin, type TestVeer } from '../../helpers/veer.js';

// maxLatencyRatio 5: ~1 ms loopback latencies make the 1.5× p99 ratio a test of CPU noise (see canary.test.ts).
export const POLICY = {
  steps: [10, 50, 100],
  stepInterval: '1s',
  analysisInterval: '250ms',
  minRequests: 20,
  drainTimeout: '2s',
  maxLatencyRatio: 5,
};

export const status = async (v: TestVeer): Promise<ServiceStatus> =>
  (await admin<ServiceStatus>(v, 'GET', '/v1/services/web')).json;

export const events = async (v: TestVeer): Promise<RolloutEvent[]> =>
  (await admin<{ events: RolloutEvent[] }>(v, 'GET', '/v1/services/web/events?limit=1000')).json.events;

export const terminal = async (v: TestVeer): Promise<boolean> => {
  const r = (await status(v)).rollout;
  return r !== null && isTerminal(r.phase);
};

/** The rollout's gate events whose message matches. */
export const gateEvents = async (v: TestVeer, pattern: RegExp): Promise<RolloutEvent[]> =>
  (await events(v)).filter((e) => e.kind === 'gate' && pattern.test(e.message));
