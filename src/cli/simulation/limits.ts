// Bounds on what one `veer simulate` may ask for: each run is synchronous work on this machine, so
// a typo (--runs 1000000, a traffic returning millions of requests a second) is refused, not run.

/** Seeded rollouts in one simulation. */
export const MAX_RUNS = 10_000;
/** Virtual seconds one rollout may last (a day). */
export const MAX_SECONDS_LIMIT = 86_400;
/** Requests one pool may serve in one virtual second. */
export const MAX_REQUESTS_PER_SECOND = 100_000;
/** Seeds are 32-bit. */
export const MAX_SEED = 4_294_967_295;
