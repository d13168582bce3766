// Time that every process on the machine reads alike: the host's monotonic clock (CLOCK_MONOTONIC, which
// process.hrtime reads), in milliseconds. performance.now() counts from each process's own start, so a
// worker's reading and its primary's could not be compared; these can (cluster workers share the host).

export function hostNowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
