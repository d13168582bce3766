// A bad release that is only a little bad: the canary fails 1% of requests where stable fails 0.5%,
// at 100 req/s. Most runs should be rolled back; the rest show how such a canary can slip through.
//   veer simulate examples/simulate/errors-2x.mjs
import { requests } from './traffic.mjs';

// A run still undecided after half an hour counts as 'running'.
export const maxSeconds = 1800;

export function traffic(ctx) {
  return requests(ctx, { rps: 100, errorRate: ctx.pool === 'canary' ? 0.01 : 0.005 });
}
