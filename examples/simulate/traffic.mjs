// Helpers for `veer simulate` scenarios. Draw every random number from the simulator's `rand`
// (seeded) so that a seed replays the same rollout.

/** How many requests arrive in one second when `mean` are expected (Poisson). */
export function poisson(rand, mean) {
  if (mean <= 0) return 0;
  if (mean > 30) return Math.max(0, Math.round(mean + Math.sqrt(mean) * gauss(rand)));
  const limit = Math.exp(-mean);
  let k = 0;
  for (let p = rand(); p > limit && k < 1000; p *= rand()) k++;
  return k;
}

/** A standard normal draw (Box-Muller). */
export function gauss(rand) {
  return Math.sqrt(-2 * Math.log(Math.max(rand(), 1e-12))) * Math.cos(2 * Math.PI * rand());
}

/**
 * One pool's requests for one virtual second: the service gets `rps` in all, this pool its `share`;
 * each request fails (503) with probability `errorRate`, latencies are log-normal around `medianMs`.
 */
export function requests({ share, rand }, { rps, errorRate, medianMs = 20, sigma = 0.5 }) {
  return Array.from({ length: poisson(rand, rps * share) }, () => ({
    status: rand() < errorRate ? 503 : 200,
    latencyMs: medianMs * Math.exp(sigma * gauss(rand)),
  }));
}
