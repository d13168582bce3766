// How often the proxy's core itself stops running a process: a spinner pinned to it reads the clock in a
// tight loop for a few seconds with nothing else to do, and every jump longer than 0.2 ms is time the
// process was not running (the kernel or the host took the virtual CPU). No proxy can answer faster than
// its core lets it run, so this is the floor under the paced pass's tail on this machine.
// Usage: node cpu-gaps.mjs <seconds> → one JSON line.
const seconds = Math.min(60, Math.max(1, Number(process.argv[2] ?? 5)));
const end = process.hrtime.bigint() + BigInt(Math.round(seconds * 1e9));
const gaps = [];
let prev = process.hrtime.bigint();
// Bounded by the clock: it ends `seconds` after it began.
for (;;) {
  const t = process.hrtime.bigint();
  const d = Number(t - prev);
  if (d > 200_000) gaps.push(d / 1e6);
  prev = t;
  if (t > end) break;
}
const lostMs = gaps.reduce((a, b) => a + b, 0);
const over = (ms) => gaps.filter((g) => g > ms).length;
const out = {
  result: true,
  seconds,
  gaps: gaps.length,
  lostMs,
  over1ms: over(1),
  over3ms: over(3),
  maxMs: Math.max(0, ...gaps),
};
process.stdout.write(`${JSON.stringify(out)}\n`);
