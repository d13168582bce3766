// A healthy release: the canary behaves exactly like stable (0.5% errors, 20 ms median latency) and
// the service gets 200 req/s. Nearly every run should be promoted, and none rolled back.
//   veer simulate examples/simulate/healthy.mjs
import { requests } from './traffic.mjs';

// Rollout keys as in a service's `rollout:` section (defaults for the rest); --policy overrides them.
export const policy = { steps: [5, 10, 25, 50, 100], stepInterval: '30s', minRequests: 200 };

// Called for each pool every virtual second: { second, pool, weight, share, rand } -> requests.
export function traffic(ctx) {
  return requests(ctx, { rps: 200, errorRate: 0.005 });
}
