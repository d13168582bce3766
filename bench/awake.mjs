// Keeps one CPU from halting while the paced pass runs: a spinner that the bench starts under SCHED_IDLE
// (`chrt -i 0`), so it runs only when nothing else on that CPU wants to, and any woken task takes the CPU
// from it at once. On this virtual machine an idle CPU halts, and waking it costs milliseconds: measured
// with wrk's paced load at 6,600 req/s, nginx as the proxy had a p99 of 12 ms with its core free to halt
// and 0.5 ms with this spinner on it, with direct at 0.3 ms. That is the host's cost, the same for every
// proxy; the paced pass measures what the proxy itself adds, and shows one round without it as well.
// Usage: node awake.mjs <seconds>: spins at most that long (the bench stops it by pid before).
const seconds = Math.min(3600, Math.max(1, Number(process.argv[2] ?? 60)));
const end = performance.now() + seconds * 1000;
// Bounded by the clock.
while (performance.now() < end);
